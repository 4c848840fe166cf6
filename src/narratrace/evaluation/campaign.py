"""The whole pipeline scored against campaign-dev, the real hand-annotated English/Persian corpus.

``../shared/eval/campaign-dev`` (see its README): 87 pages, its sources, narratives and entities
registries, and ``gold.tsv`` (sentence, contradiction, quote, date and boilerplate rows). The corpus
is read where it lies; nothing of it is copied into the project.

Build: a fresh Workspace imports the three registries and ingests every manifest document as a
text item with the manifest's source key, language, URL, date and the file's line 1 as title
(the text keeps line 1: the ingest treats a text file's first line as a title that stays in the
text), then runs ``analyze()`` with the default stages.

Spans: every gold ``text`` is an exact substring of its *file*; the stored text is cleaned
(normalised, chrome lines dropped), so each gold span is located in the stored document text:
the exact string first, then the string under the store's own normalisation
(``normalize_text``), then that with any run of whitespace (and optional ZWNJ) allowed between
words. A span that cannot be located counts as missed and is reported. A stored sentence or
quote *covers* a gold span when both are in the same document and overlap by at least half of
the shorter of the two (quotes: any overlap).

Measured:

- matches: recall (gold rows with a narrative covered by a stored match to that narrative),
  precision (stored matches on sentences that cover a gold sentence row, ``none`` rows included:
  share whose narrative is a gold narrative of that span), per language and narrative, and
  ``none_matched`` (share of ``none`` rows with any match; lower is better);
- stance (asserts / denies) and holder (outlet vs not, exact kind, entity) of the matches found;
- contradictions: per actor, the rank of each gold pair in the workspace's listing order,
  found anywhere and in the top 20, and top-20 precision (a lower bound: the gold is not exhaustive);
- quotes: recall and speaker accuracy; dates: ``published_at`` against the printed date;
  boilerplate: share of gold chrome lines no longer in the stored text.

CLI: ``python -m narratrace.evaluation.campaign --eval-dir ../shared/eval --limit-docs 10``.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from narratrace.clean.normalize import normalize_text
from narratrace.enrich.entities import normalize as normalize_name
from narratrace.errors import InvalidInput
from narratrace.ingest.items import RawItem
from narratrace.workspace import Workspace

CORPUS = "campaign-dev"
TOP = 20
STANCES = ("asserts", "denies")
KINDS = ("outlet", "speaker", "reported")
SECTIONS = ("build", "matches", "stance", "holder", "contradictions", "quotes", "dates", "boilerplate")
Span = tuple[int, int, int]  # (document id, start, end)


class CampaignError(InvalidInput):
    """A request the evaluation cannot do as asked (one line for the user)."""


@dataclass
class Gold:
    kind: str
    file: str
    text: str
    narrative: str = ""
    stance: str = ""
    holder: str = ""
    file2: str = ""
    text2: str = ""
    speaker: str = ""
    note: str = ""
    span: Span | None = None  # located in the stored text
    span2: Span | None = None
    language: str | None = None  # the manifest language of ``file``


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ratio(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


# -- reading the corpus ------------------------------------------------------------------------


def read_manifest(corpus: Path, limit: int | None = None) -> list[dict]:
    rows = [json.loads(x) for x in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    return rows[:limit] if limit else rows


def read_gold(corpus: Path, files: set[str] | None = None) -> list[Gold]:
    """The gold rows (only those whose files are all in ``files`` when given)."""
    with open(corpus / "gold.tsv", encoding="utf-8", newline="") as f:
        rows = [Gold(**{k: (v or "") for k, v in r.items()}) for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    if files is not None:
        rows = [g for g in rows if g.file in files and (not g.file2 or g.file2 in files)]
    return rows


def _when(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def build(ws: Workspace, corpus: Path, manifest: list[dict], manifest_dates: bool = True,
          stages: list[str] | None = None, manifest_sources: bool = True) -> dict:
    """Import the registries, ingest the manifest's documents with their metadata, run analyze()
    (``stages``: only those and what they need; None: all).
    ``manifest_dates=False`` leaves dates to the ingest's own extraction (the manifest's are the gold's);
    ``manifest_sources=False`` leaves the source to the registry's URL matching (scored in "sources")."""
    out: dict = {}
    t = time.monotonic()
    for what, fn in (("sources", ws.import_sources), ("entities", ws.import_entities), ("narratives", ws.import_narratives)):
        out[f"import_{what}"] = fn(corpus / f"{what}.yaml")
        log(f"build: imported {what}: {out[f'import_{what}']}")

    def items():
        for row in manifest:
            path = corpus / row["file"]
            data = path.read_bytes()
            title = data.decode("utf-8", "replace").split("\n", 1)[0].strip() or None
            yield RawItem(origin=str(path), kind="text", data=data, url=row.get("url"), title=title,
                          published_at=_when(row.get("published_at")) if manifest_dates else None, language=row.get("language"),
                          source=row.get("source") if manifest_sources else None)

    report = ws.ingest_items(items(), workers=1)
    out["ingest"] = report.as_dict()
    log(f"build: ingested {len(manifest)} documents: {report.summary()} ({time.monotonic() - t:.1f}s)")
    t = time.monotonic()
    out["analyze"] = ws.analyze(stages, progress=StageLines())
    out["analyze_seconds"] = round(time.monotonic() - t, 1)
    return out


class StageLines:
    """Analysis progress: a line per stage when it starts and when it ends."""

    @contextmanager
    def step(self, label: str):
        t, done = time.monotonic(), [0]
        log(f"analyze: {label} …")
        yield (lambda n: None), (lambda n=1: done.__setitem__(0, done[0] + n))
        log(f"analyze: {label} done ({done[0]} items, {time.monotonic() - t:.1f}s)")


# -- spans -----------------------------------------------------------------------------------


def locate(text: str, needle: str, language: str | None = None) -> tuple[int, int] | None:
    """Where ``needle`` (a span of the file) is in the stored ``text``: exact, then normalised as the
    store normalises, then with flexible whitespace; None when it is not there."""
    if not needle:
        return None
    i = text.find(needle)
    if i >= 0:
        return i, i + len(needle)
    norm = " ".join(normalize_text(needle, language).split())
    if not norm:
        return None
    i = text.find(norm)
    if i >= 0:
        return i, i + len(norm)
    words = [re.escape(w).replace("\u200c", "\u200c?") for w in norm.split()]
    m = re.search(r"(?:[^\S\n]|\u200c)+".join(words), text)  # within one paragraph, as gold spans are
    return (m.start(), m.end()) if m else None


def overlap(a: Span, b: Span) -> int:
    return max(0, min(a[2], b[2]) - max(a[1], b[1])) if a[0] == b[0] else 0


def covers(a: Span | None, b: Span | None) -> bool:
    """Same document and an overlap of at least half the shorter span."""
    if a is None or b is None:
        return False
    shorter = min(a[2] - a[1], b[2] - b[1])
    return shorter > 0 and overlap(a, b) * 2 >= shorter


def span_of(rec, side: str = "") -> Span:
    return getattr(rec, f"{side}document_id"), getattr(rec, f"{side}start"), getattr(rec, f"{side}end")


def locate_gold(gold: list[Gold], docs: dict[str, tuple[int, str]], languages: dict[str, str]) -> dict:
    """Fill each row's span(s) from ``docs`` ({file: (document id, stored text)}); count the misses.
    Boilerplate rows are not located here (they should be gone)."""
    missing: Counter = Counter()
    examples = []
    for g in gold:
        g.language = languages.get(g.file)
        if g.kind in ("boilerplate", "date"):
            continue
        for attr, file, text in (("span", g.file, g.text), ("span2", g.file2, g.text2)):
            if not file:
                continue
            doc = docs.get(file)
            found = locate(doc[1], text, languages.get(file)) if doc else None
            if found:
                setattr(g, attr, (doc[0], *found))
            else:
                missing[g.kind] += 1
                if len(examples) < 10:
                    examples.append({"kind": g.kind, "file": file, "text": text[:120],
                                     "why": "document not stored" if not doc else "not in the stored text"})
    return {"unlocated": dict(missing), "unlocated_total": sum(missing.values()), "examples": examples}


# -- matches, stance, holder -----------------------------------------------------------------


def best_matches(matches, gold: list[Gold]) -> list[tuple[Gold, object | None]]:
    """Each gold sentence row with a narrative, and the stored match to that narrative that covers
    it best (largest overlap), or None."""
    by_doc = defaultdict(list)
    for m in matches:
        by_doc[m.document_id].append(m)
    out = []
    for g in gold:
        if g.kind != "sentence" or g.narrative == "none":
            continue
        cands = [m for m in by_doc.get(g.span[0], []) if m.narrative == g.narrative
                 and covers(span_of(m), g.span)] if g.span else []
        out.append((g, max(cands, key=lambda m: overlap(span_of(m), g.span)) if cands else None))
    return out


def score_matches(matches, gold: list[Gold], doc_languages: dict[int, str]) -> dict:
    rows = [g for g in gold if g.kind == "sentence"]
    rec: dict = defaultdict(lambda: [0, 0])  # group → [found, gold]
    for g, m in best_matches(matches, rows):
        for key in ("all", f"language:{g.language}", f"narrative:{g.narrative}"):
            rec[key][0] += m is not None
            rec[key][1] += 1
    prec: dict = defaultdict(lambda: [0, 0])  # group → [right, judged]
    spans = [g for g in rows if g.span]
    for m in matches:
        over = [g for g in spans if covers(span_of(m), g.span)]
        if not over:
            continue
        right = m.narrative in {g.narrative for g in over if g.narrative != "none"}
        for key in ("all", f"language:{doc_languages.get(m.document_id)}", f"narrative:{m.narrative}"):
            prec[key][0] += right
            prec[key][1] += 1
    nones = [g for g in rows if g.narrative == "none"]
    hit = sum(1 for g in nones if any(covers(span_of(m), g.span) for m in matches))

    def group(key):
        (f, n), (r, j) = rec.get(key, (0, 0)), prec.get(key, (0, 0))
        return {"recall": ratio(f, n), "found": f, "gold": n, "precision": ratio(r, j), "right": r, "judged": j}

    def groups(prefix):
        return {k.split(":", 1)[1]: group(k) for k in sorted(set(rec) | set(prec)) if k.startswith(prefix)}

    return {"stored": len(matches), "overall": group("all"), "none_matched": ratio(hit, len(nones)),
            "none_rows": len(nones), "none_rows_matched": hit, "by_language": groups("language:"),
            "by_narrative": groups("narrative:")}


def prf(pairs: list[tuple[str, str]], classes) -> dict:
    """Accuracy and per-class precision/recall/F1 over (gold, predicted) labels."""
    out: dict = {"n": len(pairs), "accuracy": ratio(sum(g == p for g, p in pairs), len(pairs)), "classes": {}}
    for c in classes:
        tp = sum(g == p == c for g, p in pairs)
        npred, ngold = sum(p == c for _, p in pairs), sum(g == c for g, _ in pairs)
        p, r = ratio(tp, npred), ratio(tp, ngold)
        f1 = round(2 * p * r / (p + r), 4) if p and r else (0.0 if npred or ngold else None)
        out["classes"][c] = {"precision": p, "recall": r, "f1": f1, "support": ngold}
    out["predicted"] = dict(Counter(p for _, p in pairs))
    return out


def score_stance(matches, gold: list[Gold]) -> dict:
    pairs = [(g.stance, m.stance) for g, m in best_matches(matches, gold) if m is not None]
    return prf(pairs, STANCES)


def parse_holder(holder: str) -> tuple[str, str | None]:
    kind, _, entity = holder.partition(":")
    return kind.strip(), entity.strip() or None


def score_holder(matches, gold: list[Gold]) -> dict:
    found = [(g, m) for g, m in best_matches(matches, gold) if m is not None]
    pred = [(parse_holder(g.holder), getattr(m, "holder_kind", None), getattr(m, "holder", None)) for g, m in found]
    available = any(k is not None for _, k, _ in pred)
    collapsed = [("outlet" if gk == "outlet" else "not-outlet",
                  None if k is None else "outlet" if k == "outlet" else "not-outlet") for (gk, _), k, _ in pred]
    entity = [(ge, h) for (_, ge), _, h in pred if ge and h]
    right = sum(str(h).casefold() == ge.casefold() for ge, h in entity)
    return {"available": available, "n": len(pred), "with_holder": sum(k is not None for _, k, _ in pred),
            "collapsed": prf(collapsed, ("outlet", "not-outlet")),
            "kind": prf([(gk, k) for (gk, _), k, _ in pred], KINDS),
            "entity": {"n": len(entity), "right": right, "accuracy": ratio(right, len(entity))}}


# -- contradictions, quotes, dates, boilerplate --------------------------------------------------


def pair_matches(c, g: Gold) -> bool:
    a, b = span_of(c, "a_"), span_of(c, "b_")
    return (covers(a, g.span) and covers(b, g.span2)) or (covers(b, g.span) and covers(a, g.span2))


def score_contradictions(stored, gold: list[Gold], top: int = TOP) -> dict:
    """``stored`` in the workspace's listing order (its ranking); ranks are within each actor's list."""
    rows = [g for g in gold if g.kind == "contradiction"]
    by_actor = defaultdict(list)
    for c in stored:
        by_actor[c.actor].append(c)
    ranks = []
    for g in rows:
        rank = next((i for i, c in enumerate(by_actor.get(g.holder, []), 1) if pair_matches(c, g)), None)
        ranks.append({"file": g.file, "file2": g.file2, "actor": g.holder, "rank": rank,
                      "located": bool(g.span and g.span2)})
    actors = {}
    for actor, cs in by_actor.items():
        head, mine = cs[:top], [g for g in rows if g.holder == actor]
        good = sum(any(pair_matches(c, g) for g in mine) for c in head)
        actors[str(actor)] = {"stored": len(cs), "top": len(head), "top_matching_gold": good,
                              "precision_top": ratio(good, len(head))}
    found = [r["rank"] for r in ranks if r["rank"] is not None]
    n_top = sum(a["top"] for a in actors.values())
    good = sum(a["top_matching_gold"] for a in actors.values())
    return {"gold": len(rows), "stored": len(stored), "found": len(found), "recall": ratio(len(found), len(rows)),
            f"found_top{top}": sum(r <= top for r in found), f"recall_top{top}": ratio(sum(r <= top for r in found), len(rows)),
            f"precision_top{top}": ratio(good, n_top), "precision_is_lower_bound": True,
            "ranks": ranks, "by_actor": actors}


def speaker_right(q, speaker: str) -> bool:
    """An entity id (lower case, no spaces) must be the stored speaker's entity; a plain name must
    match the stored name case-insensitively."""
    key = q.speaker_key or ""
    if speaker == speaker.lower() and " " not in speaker:
        return key.removeprefix("entity:") == speaker
    names = {(getattr(q, a, None) or "").casefold() for a in ("speaker", "speaker_as_written")}
    return speaker.casefold() in names or key == f"name:{normalize_name(speaker)}"


def score_quotes(stored, gold: list[Gold]) -> dict:
    rows = [g for g in gold if g.kind == "quote"]
    by_doc = defaultdict(list)
    for q in stored:
        by_doc[q.document_id].append(q)
    stats: dict = defaultdict(lambda: [0, 0, 0])  # group → [gold, found, speaker right]
    for g in rows:
        cands = [q for q in by_doc.get(g.span[0], []) if overlap(span_of(q), g.span)] if g.span else []
        best = max(cands, key=lambda q: overlap(span_of(q), g.span)) if cands else None
        for key in ("all", str(g.language)):
            stats[key][0] += 1
            stats[key][1] += best is not None
            stats[key][2] += best is not None and speaker_right(best, g.speaker)

    def group(key):
        n, f, r = stats.get(key, (0, 0, 0))
        return {"gold": n, "found": f, "recall": ratio(f, n), "speaker_right": r, "speaker_accuracy": ratio(r, f)}

    return {"stored": len(stored), "overall": group("all"), "by_language": {k: group(k) for k in sorted(stats) if k != "all"}}


def score_dates(docs: dict[str, object], gold: list[Gold]) -> dict:
    """``docs``: {file: stored document record with ``published_at``}."""
    rows = [g for g in gold if g.kind == "date"]
    right, wrong = 0, []
    for g in rows:
        m = re.match(r"\d{4}-\d{2}-\d{2}", g.note)
        doc = docs.get(g.file)
        got = doc.published_at.date().isoformat() if doc is not None and doc.published_at else None
        if m and got == m.group():
            right += 1
        else:
            wrong.append({"file": g.file, "gold": m.group() if m else None, "stored": got})
    undated = sorted(f for f, d in docs.items() if d.published_at is None)
    dated = [d for d in docs.values() if d.published_at is not None]

    def count(attr: str) -> dict:  # where the stored dates came from, and how precise they are
        out: dict[str, int] = {}
        for d in dated:
            key = getattr(d, attr, None) or "unknown"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items()))

    return {"gold": len(rows), "right": right, "accuracy": ratio(right, len(rows)), "wrong": wrong,
            "documents": len(docs), "documents_without_date": len(undated),
            "by_source": count("date_source"), "by_precision": count("date_precision")}


def score_sources(docs: dict[str, object], manifest: list[dict]) -> dict:
    """The stored source of each manifest document that has a URL and a source, against the
    manifest's (what URL matching must find when the build does not pass the manifest's source)."""
    rows = [r for r in manifest if r.get("url") and r.get("source")]
    wrong = []
    for r in rows:
        doc = docs.get(r["file"])
        got = getattr(doc, "source", None) if doc is not None else None
        if got != r["source"]:
            wrong.append({"file": r["file"], "url": r["url"], "gold": r["source"], "stored": got})
    return {"with_url": len(rows), "right": len(rows) - len(wrong), "accuracy": ratio(len(rows) - len(wrong), len(rows)),
            "wrong": wrong}


def score_boilerplate(texts: dict[str, str], gold: list[Gold]) -> dict:
    """A gold chrome line is removed when no stored paragraph equals it (after normalisation)."""
    rows = [g for g in gold if g.kind == "boilerplate"]
    removed = kept = missing = 0
    examples = []
    for g in rows:
        if g.file not in texts:
            missing += 1
            continue
        paras = {" ".join(p.split()) for p in texts[g.file].split("\n")}
        line = " ".join(normalize_text(g.text, g.language).split())
        if g.text.strip() in paras or line in paras:
            kept += 1
            if len(examples) < 10:
                examples.append({"file": g.file, "text": g.text[:120]})
        else:
            removed += 1
    return {"gold": len(rows), "removed": removed, "kept": kept, "document_missing": missing,
            "removed_share": ratio(removed, removed + kept), "kept_examples": examples}


# -- the whole evaluation --------------------------------------------------------------------


def evaluate(ws, gold: list[Gold], manifest: list[dict]) -> dict:
    """Every score, reading the workspace through ``documents``, ``matches``, ``contradictions`` and ``quotes``."""
    languages = {r["file"]: r.get("language") for r in manifest}
    names = {Path(r["file"]).name: r["file"] for r in manifest}
    docs = {}
    for d in ws.documents(limit=None, with_text=True):
        file = names.get(Path(d.origin).name)
        if file and file not in docs:
            docs[file] = d
    spans = locate_gold(gold, {f: (d.id, d.text or "") for f, d in docs.items()}, languages)
    doc_languages = {d.id: languages.get(f) for f, d in docs.items()}
    log(f"score: {len(docs)} documents, {spans['unlocated_total']} gold spans not located")
    matches = list(ws.matches(limit=None))
    out = {"spans": spans, "matches": score_matches(matches, gold, doc_languages),
           "stance": score_stance(matches, gold), "holder": score_holder(matches, gold)}
    log(f"score: {len(matches)} matches scored")
    out["contradictions"] = score_contradictions(list(ws.contradictions(limit=None)), gold)
    out["quotes"] = score_quotes(list(ws.quotes(limit=None)), gold)
    out["dates"] = score_dates(docs, gold)
    out["sources"] = score_sources(docs, manifest)
    out["boilerplate"] = score_boilerplate({f: d.text or "" for f, d in docs.items()}, gold)
    log("score: contradictions, quotes, dates and boilerplate scored")
    return out


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _prf_lines(r: dict) -> list[str]:
    lines = [f"  accuracy {_pct(r['accuracy'])} over {r['n']}; predicted {r['predicted']}"]
    for c, v in r["classes"].items():
        lines.append(f"  {c:<11} P {_pct(v['precision'])}  R {_pct(v['recall'])}  F1 {_pct(v['f1'])}  support {v['support']}")
    return lines


def render(res: dict) -> str:
    b, sp, m = res["build"], res["spans"], res["matches"]
    out = ["== Build ==", f"  documents {b['documents']}, gold rows {b['gold_rows']}, workspace {b['workspace']}",
           f"  ingest: {b.get('ingest_summary', 'reused')}",
           f"  gold spans not located: {sp['unlocated_total']} {sp['unlocated']}"]
    out += [f"    {e['kind']} {e['file']}: {e['why']}: {e['text']!r}" for e in sp["examples"][:5]]
    out += ["== Matches ==", f"  stored matches {m['stored']}"]

    def row(name, g):
        return (f"  {name:<30} recall {_pct(g['recall'])} ({g['found']}/{g['gold']})  "
                f"precision {_pct(g['precision'])} ({g['right']}/{g['judged']})")

    out.append(row("overall", m["overall"]))
    out += [row(f"language {k}", v) for k, v in m["by_language"].items()]
    out += [row(k, v) for k, v in m["by_narrative"].items()]
    out.append(f"  none_matched {_pct(m['none_matched'])} ({m['none_rows_matched']}/{m['none_rows']}; lower is better)")
    out += ["== Stance (found rows) =="] + _prf_lines(res["stance"])
    h = res["holder"]
    out += ["== Holder (found rows) ==", f"  found rows with a stored holder: {h['with_holder']}/{h['n']}"]
    if h["available"]:
        out += ["  outlet vs not-outlet:", *_prf_lines(h["collapsed"]), "  kind:", *_prf_lines(h["kind"]),
                f"  entity accuracy {_pct(h['entity']['accuracy'])} ({h['entity']['right']}/{h['entity']['n']})"]
    else:
        out.append("  matches carry no holder_kind: not scored")
    c = res["contradictions"]
    out += ["== Contradictions ==",
            f"  gold {c['gold']}, stored {c['stored']}; found {c['found']} ({_pct(c['recall'])}), "
            f"in top {TOP} per actor {c[f'found_top{TOP}']} ({_pct(c[f'recall_top{TOP}'])})",
            f"  precision in top {TOP} {_pct(c[f'precision_top{TOP}'])} (a lower bound: the gold is not exhaustive)"]
    out += [f"  actor {a}: {v['stored']} stored, top {v['top']} with {v['top_matching_gold']} gold"
            for a, v in c["by_actor"].items()]
    out += [f"  rank {r['rank'] or '-'}: {Path(r['file']).name} ~ {Path(r['file2']).name}"
            + ("" if r["located"] else " (span not located)") for r in c["ranks"]]
    out.append("== Quotes ==")
    q = res["quotes"]
    for k, v in [("overall", q["overall"]), *q["by_language"].items()]:
        out.append(f"  {k:<8} recall {_pct(v['recall'])} ({v['found']}/{v['gold']})  "
                   f"speaker accuracy {_pct(v['speaker_accuracy'])} ({v['speaker_right']}/{v['found']})")
    d = res["dates"]
    out += ["== Dates ==", f"  accuracy {_pct(d['accuracy'])} ({d['right']}/{d['gold']}); "
            f"documents without a date {d['documents_without_date']}/{d['documents']}"
            + ("  (manifest dates passed at ingest: this only checks they were kept)" if b.get("manifest_dates") else "")]
    out += [f"  wrong: {Path(w['file']).name} gold {w['gold']} stored {w['stored']}" for w in d["wrong"][:10]]
    so = res.get("sources")
    if so:
        out += ["== Sources ==", f"  source matched by URL: {so['right']}/{so['with_url']} ({_pct(so['accuracy'])})"
                + ("  (manifest sources passed at ingest: this only checks they were kept)"
                   if b.get("manifest_sources") else "")]
        out += [f"  wrong: {Path(w['file']).name} {w['url']} gold {w['gold']} stored {w['stored']}" for w in so["wrong"][:10]]
    bp = res["boilerplate"]
    out += ["== Boilerplate ==", f"  removed {_pct(bp['removed_share'])} ({bp['removed']}/{bp['removed'] + bp['kept']})"
            + (f"; {bp['document_missing']} rows on documents not stored" if bp["document_missing"] else "")]
    out += [f"  kept: {Path(e['file']).name}: {e['text']!r}" for e in bp["kept_examples"][:5]]
    return "\n".join(out)


def run(eval_dir: Path, workspace: str | None = None, reuse: bool = False, limit: int | None = None,
        manifest_dates: bool = True, stages: list[str] | None = None, manifest_sources: bool = True) -> dict:
    corpus = eval_dir / CORPUS
    manifest = read_manifest(corpus, limit)
    gold = read_gold(corpus, {r["file"] for r in manifest})
    tmp = None if workspace else tempfile.mkdtemp(prefix="narratrace-campaign-")
    path = Path(workspace or Path(tmp) / "campaign.db")
    existed = path.exists()
    if existed and not reuse:
        raise CampaignError(f"error: {path} exists; pass --reuse to score it as it is, or remove it for a fresh build")
    t = time.monotonic()
    try:
        with Workspace(path, create=not existed) as ws:
            info = {"workspace": str(path) if workspace else "(temporary)", "documents": len(manifest),
                    "gold_rows": dict(Counter(g.kind for g in gold)), "reused": existed,
                    "manifest_dates": None if existed else manifest_dates,
                    "manifest_sources": None if existed else manifest_sources}
            if existed:
                log(f"build: reusing {path}: no ingest, no analysis")
            else:
                built = build(ws, corpus, manifest, manifest_dates, stages, manifest_sources)
                info.update(built)
                ing = built["ingest"]
                info["ingest_summary"] = (f"added {ing['added']}, already present {ing['already_present']}, "
                                          f"skipped {len(ing['skipped'])}, failed {len(ing['failed'])}")
            info["build_seconds"] = round(time.monotonic() - t, 1)
            t = time.monotonic()
            res = {"build": info, **evaluate(ws, gold, manifest)}
            res["build"]["score_seconds"] = round(time.monotonic() - t, 1)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m narratrace.evaluation.campaign", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  nice -n 19 python -m narratrace.evaluation.campaign --eval-dir ../shared/eval "
               "--limit-docs 10 --json /tmp/campaign.json\n  nice -n 19 python -m narratrace.evaluation.campaign "
               "--eval-dir ../shared/eval --workspace /tmp/cd.db   # keep the build\n"
               "  python -m narratrace.evaluation.campaign --eval-dir ../shared/eval --workspace /tmp/cd.db --reuse"
               "   # score it again")
    ap.add_argument("--eval-dir", type=Path, default=Path("../shared/eval"), help="folder holding campaign-dev/")
    ap.add_argument("--workspace", help="SQLite file to build (default: a temporary one, removed afterwards)")
    ap.add_argument("--reuse", action="store_true", help="score an existing --workspace as it is (no ingest, no analysis)")
    ap.add_argument("--limit-docs", type=int, metavar="N", help="only the first N manifest documents (and their gold)")
    ap.add_argument("--json", metavar="OUT", help="write every figure to this JSON file")
    ap.add_argument("--no-manifest-dates", action="store_true",
                    help="do not pass the manifest's dates at ingest, so the date score measures the ingest's own dating")
    ap.add_argument("--no-manifest-sources", action="store_true",
                    help="do not pass the manifest's source at ingest, so 'sources' scores the registry's URL matching")
    ap.add_argument("--stages", metavar="A,B",
                    help="run only these analysis stages (and what they need), e.g. 'quotes' for a build of a few "
                         "minutes that scores dates, boilerplate and quotes; matches and contradictions then score 0")
    args = ap.parse_args(argv)
    if not (args.eval_dir / CORPUS / "manifest.jsonl").is_file():
        print(f"error: no {CORPUS} corpus at {args.eval_dir / CORPUS} (expected manifest.jsonl and gold.tsv there; "
              "point --eval-dir at the folder that holds it)", file=sys.stderr)
        return 1
    try:
        res = run(args.eval_dir, args.workspace, args.reuse, args.limit_docs, not args.no_manifest_dates,
                  [x.strip() for x in args.stages.split(",") if x.strip()] if args.stages else None,
                  not args.no_manifest_sources)
    except CampaignError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(render(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
