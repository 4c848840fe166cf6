"""`narratrace demo`: build a workspace from the bundled fictional corpus and show what the
record holds. Later stages (narratives, contradictions, provenance) extend this."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from narratrace import pipeline
from narratrace.demo.gold import CORPUS, ENTITIES, GOLD, NARRATIVES, SOURCES, load_gold, relative_origin, score_record
from narratrace.demo.scoring import (
    score_contradictions,
    score_matches,
    score_provenance,
    score_quotes,
    score_translations,
)
from narratrace.progress import CliProgress, ingest_progress
from narratrace.report.prevalence import chart
from narratrace.store.db import redact
from narratrace.workspace import Workspace

# The demo runs the one analysis order (pipeline.py), plus ``discover`` to show candidate
# narratives; with --record-only only the stages that need no embeddings (quotes, and
# coordination without translated copies).
STAGES = (*pipeline.DEFAULT, "discover")
RECORD_ONLY_STAGES = ("quotes", "coordination")


def duplicate_groups(docs) -> list[list]:
    """Documents linked by duplicate_of, grouped under their earliest member, by time."""
    by_id = {d.id: d for d in docs}

    def root(d):
        seen = set()
        while d.duplicate_of and d.duplicate_of in by_id and d.id not in seen:
            seen.add(d.id)
            d = by_id[d.duplicate_of]
        return d.id

    groups: dict[int, list] = defaultdict(list)
    for d in docs:
        groups[root(d)].append(d)
    out = [sorted(g, key=lambda x: (x.published_at is None, x.published_at, x.id)) for g in groups.values() if len(g) > 1]
    return sorted(out, key=lambda g: (g[0].published_at is None, g[0].published_at, g[0].id))


def run_demo(workspace: str, *, fresh: bool = True, console: Console | None = None, err: Console | None = None,
             as_json: bool = False, analysis: bool = True) -> dict:
    console = console or Console()
    err = err or Console(stderr=True)
    is_url = "://" in str(workspace)
    # A PostgreSQL demo writes into the database it is given (ingest is idempotent, so a rerun adds
    # nothing) and never empties it; its chart goes to the current folder.
    path = Path("narratrace-demo") if is_url else Path(workspace)
    shown = redact(str(workspace)) if is_url else str(path)
    if fresh and not is_url:
        for suffix in ("", "-wal", "-shm", ".prevalence.html"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        shutil.rmtree(str(path) + ".vectors", ignore_errors=True)
    ws = Workspace(workspace if is_url else path, create=True)
    registry = ws.import_sources(SOURCES)
    with ingest_progress(err, "files") as (on_total, on_item):
        report = ws.ingest([str(CORPUS)], source_from_folder=True, progress=on_item, on_files=on_total)
    docs = ws.documents()
    stats = ws.stats()
    groups = duplicate_groups(docs)
    cleaning = ws.cleaning_totals()
    gold = load_gold(GOLD) if GOLD.exists() else {}
    record = score_record(ws, gold) if gold else None
    searches = [("cult", {"audience": "foreign"}), ("اغتشاشات", {"audience": "domestic"})]
    search_hits = {q: ws.search(q, limit=5, **f) for q, f in searches}
    ws.import_entities(ENTITIES)
    if analysis:
        ws.import_narratives(NARRATIVES)
        found = ws.analyze(STAGES, progress=CliProgress(err))
    else:
        found = ws.analyze(RECORD_ONLY_STAGES, options={"coordination": {"translations": False}},
                           progress=CliProgress(err))
    provenance = trace(ws, gold, found)

    result = {
        "workspace": shown if is_url else str(path.resolve()),
        "ingest": report.as_dict(),
        "stats": stats,
        "cleaning": dict(cleaning),
        "duplicate_groups": [[{"id": d.id, "source": d.source,
                               "published_at": d.published_at.isoformat() if d.published_at else None,
                               "duplicate_kind": d.duplicate_kind, "duplicate_score": d.duplicate_score,
                               "file": relative_origin(d.origin)} for d in g] for g in groups],
        "gold_record": record.as_dict() if record else None,
        "provenance": provenance,
        "searches": {q: [h.as_dict() for h in hits] for q, hits in search_hits.items()},
    }
    if analysis:
        result["analysis"] = analyse(ws, path, gold, found)
    if as_json:
        console.print_json(json.dumps(result, ensure_ascii=False, default=str))
        return result

    p = console.print
    p(f"[bold]narratrace demo[/] — a fictional information campaign, built into [cyan]{escape(shown)}[/]")
    p(f"registry: {registry['actors']} actors, {registry['sources']} sources · ingest: {report.summary()}")
    for prob in report.failed:
        p(f"  [red]failed[/] {escape(prob.line())}")

    t = Table(title="The record: sources, audiences, languages")
    for col in ("source", "actor", "audience", "language", "kind", "documents"):
        t.add_column(col)
    for src in ws.sources():
        t.add_row(src.key, src.actor or "—", src.audience or "", src.language or "", src.kind or "", str(src.documents))
    p(t)
    p(f"{stats['documents']} documents ({stats['unique_documents']} unique), {stats['sentences']} sentences; "
      f"languages: {', '.join(f'{k} {v}' for k, v in stats['languages'].items())}; "
      f"published {stats['published_first']} → {stats['published_last']}")
    p(f"cleaning removed: {cleaning.get('rule_lines', 0)} boilerplate lines by rule, "
      f"{cleaning.get('learned_lines', 0)} lines learned as site chrome per source, "
      f"{cleaning.get('tail_lines', 0)} lines of trailing link blocks, "
      f"{cleaning.get('dup_paragraphs', 0)} repeated paragraphs")

    t = Table(title="Same text, several outlets: duplicate groups (linked, never deleted)")
    for col in ("group", "published (UTC)", "source", "link", "title"):
        t.add_column(col)
    coordinated = {m["document_id"] for c in provenance["coordination"] for m in c["documents"]}
    for i, g in enumerate(groups, 1):
        tag = f"{i}" + (" [bold red]coordinated[/]" if {d.id for d in g} <= coordinated else "")
        for d in g:
            link = "original" if d.duplicate_of is None else f"{d.duplicate_kind} {d.duplicate_score:.2f}"
            t.add_row(tag, d.published_at.strftime("%Y-%m-%d %H:%M") if d.published_at else "—", d.source or "—",
                      link, escape((d.title or "")[:60]))
            tag = ""
    p(t)
    show_provenance(provenance, p)

    for q, hits in search_hits.items():
        flt = dict(searches)[q]
        p(f"\n[bold]search[/] {escape(q)} ({', '.join(f'{k}={v}' for k, v in flt.items())}): {len(hits)} hits")
        for h in hits[:3]:
            snippet = escape(h.snippet).replace("\u27e8", "[bold yellow]").replace("\u27e9", "[/]")
            p(f"  [dim]{h.published_at:%Y-%m-%d} {h.source}[/] {snippet}" if h.published_at else f"  {snippet}")

    if record:
        n = max(record.documents_found, 1)
        p(f"\n[bold]against the gold file[/]: {record.documents_found}/{record.documents_gold} documents stored; "
          f"source {record.source_correct}/{n}, audience {record.audience_correct}/{n}, "
          f"language {record.language_correct}/{n}, publication time {record.date_correct}/{record.dated_gold}")
        for m in record.missing:
            p(f"  [yellow]not stored:[/] {escape(m)}")
    if analysis:
        show_analysis(ws, result["analysis"], p)
    p(f"\nnext: narratrace search 'cult' -w {escape(shown)} · narratrace docs list -w {escape(shown)}"
      f" · narratrace stats -w {escape(shown)}")
    return result


def trace(ws, gold: dict, found: dict) -> dict:
    """Who said it and who carried it: quotes, recycled sources, coordinated publication (the
    near-duplicate groups come from the MinHash signatures ingest stored)."""
    out = {"quotes": found["quotes"], "coordination_found": found["coordination"],
           "recycled_sources": [sp.as_dict() for sp in ws.recycled_sources(3)],
           "coordination": ws.coordination(method="near-duplicate").dicts()}
    if gold:
        out["gold_provenance"] = score_provenance(ws, gold)
        out["gold_quotes"] = score_quotes(ws, gold)
    return out


def show_provenance(pv: dict, p) -> None:
    q = pv["quotes"]
    p(f"\n[bold]quotes[/]: {q['quotes']} found in {q['documents']} documents, {q['attributed']} with a speaker")
    t = Table(title="Recycled sources: people quoted by 3+ outlets that are not their own actor's")
    for col in ("speaker", "quotes", "outlets", "first seen", "outlets in order of first use"):
        t.add_column(col)
    for sp in pv["recycled_sources"]:
        uses = ", ".join(f"{u['source']} {u['first'][5:10]}" if u["first"] else u["source"]
                         for u in sp["by_outlet"] if u["source"])
        t.add_row(escape(sp["name"]), str(sp["quotes"]), str(sp["other_outlets"]),
                  (sp["first_seen"] or "")[:16].replace("T", " "), uses)
    p(t)
    for c in pv["coordination"]:
        p(f"[bold red]coordinated publication:[/] {len(c['documents'])} near-identical articles from "
          f"{len(c['sources'])} outlets within {c['span_seconds'] / 60:.0f} minutes, first published by "
          f"[bold]{c['first_source']}[/] ({', '.join(d['source'] + ' ' + d['published_at'][11:16] for d in c['documents'])})")
    if "gold_provenance" in pv:
        g, gq = pv["gold_provenance"], pv["gold_quotes"]
        bursts = ", ".join(f"{b['id']} {'found' if b['found'] else 'missed'}"
                           f"{', first publisher right' if b['first_correct'] else ''}" for b in g["bursts"])
        p(f"[bold]against the gold file[/]: quotes found {gq['found']}/{gq['gold']}, speaker right "
          f"{gq['speaker_correct']}/{gq['found']}; recycled sources {len(g['recycled_found'])}/{g['recycled_gold']} "
          f"(outlets {g['recycled_outlet_recall']:.2f}); bursts: {bursts}")


def analyse(ws, path: Path, gold: dict, found: dict) -> dict:
    """Narratives, prevalence and contradictions on the demo workspace (analysed by run_demo),
    scored against the gold."""
    trails = ws.quote_trails()
    prevalence = ws.prevalence(period="week", by="audience")
    chart_path = Path(str(path) + ".prevalence.html")
    chart(ws.prevalence(period="day", by="audience"), chart_path, title="Demo: narrative prevalence by audience")
    narratives = ws.narratives()
    incompatible = {(n.key, c) for n in narratives for c in n.contradicts}
    out = {
        "matches": found["match"],
        "narratives": [{"key": n.key, "asserts": n.asserts, "denies": n.denies, "matches": n.matches} for n in narratives],
        "prevalence": prevalence.dicts(),
        "prevalence_chart": str(chart_path),
        "contradictions": found["contradictions"],
        "candidates": [{"key": n.key, "description": n.description, "example": n.assertions[0]}
                       for n in ws.narratives() if n.status == "candidate"],
        "discovery": found["discover"],
        "top_cross_audience": [c.as_dict() for c in ws.contradictions(cross_audience=True, limit=5)],
        "coordination_found": found["coordination"],
        "translations": ws.coordination(method="translation").dicts(),
        "quote_trails": [t.as_dict() for t in trails[:5]],
        "spread": {key: ws.narrative_spread(key).dicts() for key in ("no-domestic-support", "front-organises-unrest")},
    }
    if gold:
        out["gold_matches"] = score_matches(ws, gold)
        out["gold_contradictions"] = score_contradictions(ws, gold, incompatible)
        out["gold_translations"] = score_translations(ws, gold)
    return out


def show_analysis(ws, a: dict, p) -> None:
    t = Table(title="Narratives: documents asserting each, per week and audience")
    for col in ("narrative", "week", "audience", "documents"):
        t.add_column(col)
    for r in a["prevalence"]:
        t.add_row(r["narrative"], r["period"], r["group"], str(r["documents"]))
    p(t)
    p(f"prevalence chart: {escape(a['prevalence_chart'])}")
    c = a["contradictions"]
    p(f"\n[bold]contradictions[/]: {c['narratives']} pairs by incompatible narratives, {c['nli']} by NLI; "
      "the strongest that cross audiences:")
    for x in a["top_cross_audience"]:
        why = f"{x['narrative_a']} ✕ {x['narrative_b']}" if x["kind"] != "nli" else f"NLI {x['p_contradict']:.2f}"
        p(f"  [bold]{why}[/] (score {x['score']:.2f})")
        for side in ("a", "b"):
            p(f"    [dim]{x[side + '_published_at'][:10] if x[side + '_published_at'] else '—'} "
              f"{x[side + '_source']} ({x[side + '_audience']}, {x[side + '_language']})[/] {escape(x[side + '_text'])}")
    p("\n[bold]the same quote, carried again[/] (first carrier, then who repeated it, in any language):")
    for t in a["quote_trails"][:3]:
        p(f"  {escape(t['speaker'] or 'unattributed')}: “{escape(t['text'][:100])}” — {t['documents']} documents, "
          f"{t['outlets']} outlets; first [bold]{t['first']['source']}[/] {(t['first']['published_at'] or '')[:16]}, then "
          + ", ".join(f"{c['source']} {(c['published_at'] or '')[5:16]}" for c in t["repeats"]))
    for key, steps in a["spread"].items():
        p(f"[bold]how '{key}' spread[/]: " + " → ".join(f"{st['source']} {st['first'][5:10] if st['first'] else '(undated)'}"
                                                      for st in steps))
    for c in a["translations"]:
        d = c["documents"]
        p(f"[bold]translated copy:[/] {d[0]['source']} ({d[0]['language']}, {d[0]['published_at'][:16]}) → "
          + ", ".join(f"{x['source']} ({x['language']}, {x['published_at'][:16]}, margin {x['similarity']:.3f})" for x in d[1:]))
    p(f"\n[bold]candidate narratives[/] (recurring claims no narrative covers; promote or dismiss): "
      f"{len(a['candidates'])}")
    for c in a["candidates"]:
        p(f"  {c['key']}: {escape(c['example'][:110])} [dim]({escape(c['description'] or '')})[/]")
    if "gold_matches" in a:
        m, k = a["gold_matches"], a["gold_contradictions"]
        p(f"\n[bold]against the gold file[/]: narrative matching recall {m['recall']:.2f}, precision on annotated "
          f"sentences {m['precision_on_gold']:.2f}, stance accuracy {m['stance_accuracy']:.2f} ({m['stance_scored']} "
          f"sentences); planned contradictions found {len(k['recalled'])}/{k['planned']} "
          f"({', '.join(k['recalled']) or 'none'}), precision on annotated pairs {k['precision_on_gold']:.2f}; "
          f"translations found {len(a['gold_translations']['found'])}/{a['gold_translations']['gold']} "
          f"({a['gold_translations']['groups']} translation groups)")
