"""CLI for the analysis stages: index, narratives, match, prevalence, contradictions, compare,
review, train. Thin: everything happens in narratrace.Workspace (analysis.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from narratrace import stage_names
from narratrace.cli.common import (
    ActorF,
    AudienceF,
    JsonOpt,
    LanguageF,
    SinceF,
    SourceF,
    UntilF,
    WorkspaceOpt,
    _esc,
    _filters,
    _print_json,
    err,
    fail,
    open_ws,
    out,
)
from narratrace.progress import CliProgress

narratives_app = typer.Typer(help="The narrative registry, matches and prevalence.\n\n"
                                  "Example: narratrace narratives import narratives.yaml", no_args_is_help=True)
review_app = typer.Typer(help="Confirm or reject findings; reviews survive every re-run.\n\n"
                              "Example: narratrace review match 812 --narrative no-domestic-support --confirm",
                         no_args_is_help=True)


RunnerOpt = Annotated[str | None, typer.Option(
    "--runner", help="Where the model stages run: local (default, this process) or ray (a local Ray instance, "
                     "or the cluster at --ray-address / $RAY_ADDRESS; needs pip install 'narratrace[ray]'). "
                     "Default: $NARRATRACE_RUNNER, else local.")]
RayAddressOpt = Annotated[str | None, typer.Option(
    "--ray-address", help="Ray cluster to join, e.g. 10.0.0.5:6379 or auto (implies --runner ray); "
                          "see docs/ray.md.")]
StagesOpt = Annotated[str | None, typer.Option(
    "--stages", help="Comma-separated stages to run (default: " + ",".join(stage_names.DEFAULT) + "); always in "
                     "pipeline order, with the incremental stages they need. See --list-stages.")]


def _runner(name: str | None, address: str | None):
    """The runner the options ask for; one per command, so Ray starts once for all its stages."""
    from narratrace.run import get_runner  # lazy: CLI start-up
    if address and not name:
        name = "ray"
    return get_runner(name, address=address)


def _day(d) -> str:
    return d.strftime("%Y-%m-%d") if d else "—"


def index(workspace: WorkspaceOpt = None, runner: RunnerOpt = None, ray_address: RayAddressOpt = None) -> None:
    """Embed every new sentence (cached by text) and add it to the vector index (the `embed` stage).

    Examples: narratrace index -w campaign.db

        narratrace index -w campaign.db --runner ray   (a local Ray instance on every CPU)
    """
    rep = open_ws(workspace).analyze(["embed"], progress=CliProgress(err), runner=_runner(runner, ray_address))
    out.print(f"indexed {rep['embed']['indexed']} new sentences")


def analyze(workspace: WorkspaceOpt = None, as_json: JsonOpt = False, runner: RunnerOpt = None,
            ray_address: RayAddressOpt = None, stages: StagesOpt = None,
            list_stages: Annotated[bool, typer.Option("--list-stages", help="List the stages (what each requires "
                                                      "and writes, its version, its last run here) and exit.")] = False,
            sensitivity: Annotated[float | None, typer.Option(
                "--sensitivity", min=0.01, max=0.99,
                help="Narrative matching sensitivity for this run (0..1, higher matches more; overrides each "
                     "narrative's own; see `narratrace narratives calibrate`).")] = None,
            ) -> None:
    """The whole analysis, or the --stages you name: embed sentences, match narratives, find
    contradictions, extract quotes and speakers, find coordinated publication (pipeline.py).

    Examples: narratrace analyze -w campaign.db

        narratrace analyze --stages contradictions        (embeds new sentences first, then only that)

        narratrace analyze --list-stages

        narratrace analyze --stages match --sensitivity 0.6

        narratrace analyze -w postgresql://analyst@db/campaign --runner ray --ray-address 10.0.0.5:6379

    --runner ray runs the model stages (embedding, NLI for matching and contradictions) as Ray
    Data jobs; results are identical to the local runner's (docs/ray.md).
    """
    ws = open_ws(workspace)
    if list_stages:
        rows = ws.stages()
        if as_json:
            return _print_json(rows)
        t = Table("stage", "default", "requires", "writes", "version", "last run here", "what it does")
        for r in rows:
            last = f"v{r['last_version']} {r['last_run'][:16].replace('T', ' ')}" if r["last_run"] else "never"
            t.add_row(r["name"], "yes" if r["default"] else "no", ", ".join(r["requires"]), ", ".join(r["writes"]),
                      r["version"], last, _esc(r["help"]))
        out.print(t)
        return
    selected = [x.strip() for x in stages.split(",") if x.strip()] if stages else None
    options = {"match": {"sensitivity": sensitivity}} if sensitivity is not None else None
    rep = ws.analyze(selected, options=options, progress=CliProgress(err), runner=_runner(runner, ray_address))
    if as_json:
        return _print_json(rep)
    out.print(summary(rep))


def summary(rep: dict[str, dict]) -> str:
    """One line per analyze: what each stage that ran found."""
    parts = []
    if "embed" in rep:
        parts.append(f"indexed {rep['embed']['indexed']} new sentences")
    if "match" in rep:
        m = rep["match"]
        parts.append(f"{m['matches']} narrative matches (asserts {m['asserts']}, denies {m['denies']}; "
                     f"held by a speaker {m['speaker']}, reported {m['reported']})")
    if "contradictions" in rep:
        c = rep["contradictions"]
        parts.append(f"contradictions: {c['narratives']} by narrative, {c['stance']} by stance, {c['nli']} by NLI "
                     f"({c['folded']} more pairs folded under them)")
    if "discover" in rep:
        parts.append(f"{rep['discover']['new_candidates']} new candidate narratives")
    if "quotes" in rep:
        q = rep["quotes"]
        parts.append(f"{q['quotes']} quotes in {q['documents']} new documents")
        for line in q.get("overruns") or []:  # named, never silent: left without quotes this run
            parts.append(f"no quotes for {line}")
    if "coordination" in rep:
        c = rep["coordination"]
        parts.append(f"coordination: {c['near_duplicate']} near-duplicate, {c['translation']} translation groups")
    return " · ".join(parts)


@narratives_app.command("import")
def narratives_import(file: Annotated[Path, typer.Argument(help="YAML with a 'narratives:' list.")],
                      workspace: WorkspaceOpt = None) -> None:
    """Import or update narratives (id, name, description, assertions, counters, entities, contradicts).

    Example: narratrace narratives import narratives.yaml
    """
    ws = open_ws(workspace, create=True)
    counts = ws.import_narratives(file)
    out.print(f"imported {counts['narratives']} narratives, {counts['statements']} statements "
              "(run `narratrace analyze` to match them)")


@narratives_app.command("list")
def narratives_list(all_: Annotated[bool, typer.Option("--all", help="Include dismissed narratives.")] = False,
                    workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The narratives (registered, and discovered candidates) with their statements and match counts.

    Example: narratrace narratives list --json
    """
    rows = open_ws(workspace).narratives(include_dismissed=all_)
    if as_json:
        return _print_json(rows.dicts())
    t = Table("id", "name", "status", "assertions", "counters", "matches", "asserts", "denies", "contradicts")
    for n in rows:
        t.add_row(n.key, _esc(n.name), n.status, str(len(n.assertions)), str(len(n.counters)), str(n.matches),
                  str(n.asserts), str(n.denies), ", ".join(n.contradicts))
    out.print(t)


@narratives_app.command("discover")
def narratives_discover(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Cluster recurring claims that no narrative covers into candidates (the `discover` stage; ids stay
    stable as data grows).

    Example: narratrace narratives discover && narratrace narratives promote auto-1a2b3c4d --name "…"
    """
    ws = open_ws(workspace)
    rep = ws.analyze(["discover"], progress=CliProgress(err))["discover"]
    cands = [n for n in ws.narratives() if n.status == "candidate"]
    if as_json:
        return _print_json({"report": rep, "candidates": [c.as_dict() for c in cands]})
    out.print(f"{rep['sentences']} uncovered claim-like sentences → {rep['new_candidates']} new and "
              f"{rep['updated_candidates']} updated candidates")
    t = Table("id", "description", "example")
    for c in cands:
        t.add_row(c.key, _esc(c.description or ""), _esc(c.assertions[0] if c.assertions else ""))
    out.print(t)


@narratives_app.command("promote")
def narratives_promote(key: Annotated[str, typer.Argument(help="Candidate id (auto-…).")],
                       name: Annotated[str | None, typer.Option("--name", help="A better name.")] = None,
                       workspace: WorkspaceOpt = None) -> None:
    """Make a candidate an active narrative (it is matched on the next `analyze`).

    Example: narratrace narratives promote auto-1a2b3c4d --name "Exiles are paid by Norland"
    """
    open_ws(workspace).set_narrative_status(key, "active", name=name)
    out.print(f"{key} is active; run `narratrace analyze` to match it")


@narratives_app.command("dismiss")
def narratives_dismiss(key: Annotated[str, typer.Argument(help="Narrative id.")], workspace: WorkspaceOpt = None) -> None:
    """Dismiss a narrative or candidate: it is no longer matched or proposed again.

    Example: narratrace narratives dismiss auto-1a2b3c4d
    """
    open_ws(workspace).set_narrative_status(key, "dismissed")
    out.print(f"{key} dismissed")


@narratives_app.command("calibrate")
def narratives_calibrate(
    narrative: Annotated[str | None, typer.Option("--narrative", help="Only this narrative's reviews.")] = None,
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """Precision and recall of matching at each sensitivity, against your reviewed matches.

    Each confirmed or rejected match is scored again as `analyze` scores it; the table shows what
    each setting would keep. Set the one you want per narrative (`sensitivity:` in the YAML) or
    for a run (`narratrace analyze --stages match --sensitivity 0.6`).

    Example: narratrace narratives calibrate --narrative foreign-instigated-riots
    """
    rows = open_ws(workspace).calibrate_matching(narrative)
    if as_json:
        return _print_json(rows)
    t = Table("sensitivity", "kept", "precision", "recall", "")
    for r in rows:
        fmt = lambda x: "—" if x is None else f"{x:.2f}"  # noqa: E731
        t.add_row(f"{r['sensitivity']:.1f}", str(r["kept"]), fmt(r["precision"]), fmt(r["recall"]),
                  "default" if r["default"] else "")
    out.print(t)
    err.print("recall is measured on reviewed matches only: matches never shown cannot be counted")


@narratives_app.command("matches")
def narratives_matches(
    narrative: Annotated[str | None, typer.Argument(help="Narrative id (default: all).")] = None,
    stance: Annotated[str | None, typer.Option("--stance", help="asserts, denies or neutral.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 50,
    source: SourceF = None, actor: ActorF = None, audience: AudienceF = None, language: LanguageF = None,
    since: SinceF = None, until: UntilF = None, workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """Sentences matched to narratives, with stance, scores and review status.

    Example: narratrace narratives matches no-domestic-support --stance asserts --audience foreign
    """
    rows = open_ws(workspace).matches(narrative, stance=stance, limit=limit,
                                      filters=_filters(source, actor, audience, language, since, until))
    if as_json:
        return _print_json(rows.dicts())
    t = Table("sentence", "narrative", "stance", "score", "sim", "published", "source", "aud.", "text", "review")
    for m in rows:
        t.add_row(str(m.sentence_id), m.narrative, m.reviewed_stance or m.stance, f"{m.stance_score:+.2f}",
                  f"{m.similarity:.3f}", _day(m.published_at), m.source or "—", m.audience or "", _esc(m.text),
                  m.review or "")
    out.print(t)


@narratives_app.command("prevalence")
def narratives_prevalence(
    narrative: Annotated[str | None, typer.Argument(help="Narrative id (default: all).")] = None,
    period: Annotated[str, typer.Option("--period", help="day, week or month.")] = "day",
    by: Annotated[str, typer.Option("--by", help="source, actor, audience, language or none.")] = "audience",
    stance: Annotated[str, typer.Option("--stance", help="asserts, denies, neutral or any.")] = "asserts",
    chart: Annotated[Path | None, typer.Option("--chart", help="Also write a chart: .html (interactive) or .png.")] = None,
    normalise: Annotated[bool, typer.Option(
        "--normalise", help="Also the share: documents carrying it ÷ all documents of that group in that period.")] = False,
    source: SourceF = None, actor: ActorF = None, audience: AudienceF = None, language: LanguageF = None,
    since: SinceF = None, until: UntilF = None, workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """Documents carrying each narrative per period, split by outlet, actor, audience or language,
    then all periods together. Undated documents are counted ("undated" rows and the totals), not
    placed in time. --normalise adds each group's volume (all its documents in the period) and the
    share carrying the narrative; the chart then plots the share.
    --json: {"rows": [...], "totals": [...], "undated": {narrative: N}}.

    Example: narratrace narratives prevalence --period week --by source --normalise --chart prevalence.html
    """
    from narratrace.report.prevalence import chart as write_chart  # lazy: CLI start-up
    from narratrace.report.prevalence import totals as prevalence_totals  # lazy: CLI start-up
    from narratrace.report.prevalence import undated as prevalence_undated  # lazy: CLI start-up
    from narratrace.report.prevalence import undated_note  # lazy: CLI start-up
    ws = open_ws(workspace)
    f = _filters(source, actor, audience, language, since, until)
    rows = ws.prevalence(period=period, by=by, stance=stance, narrative=narrative, normalise=normalise, filters=f)
    totals = (ws.prevalence_totals(by=by, stance=stance, narrative=narrative, normalise=True, filters=f)
              if normalise else prevalence_totals(rows))
    note = undated_note(rows)
    if chart:
        write_chart(rows, chart, value="share" if normalise else "documents")
        err.print(f"chart written to {chart}")
    if as_json:
        return _print_json({"rows": rows.dicts(), "totals": totals.dicts(), "undated": prevalence_undated(rows)})
    t = Table("narrative", period, by, "documents", *(("of all", "share") if normalise else ()))
    for r in rows:
        t.add_row(r.narrative, r.period or "undated", r.group, str(r.documents),
                  *((str(r.volume), _pct(r.share)) if normalise else ()))
    out.print(t)
    if totals:
        t = Table("narrative", by, "documents (all periods)", "dated", "undated",
                  *(("of all", "share") if normalise else ()), title="all periods")
        for r in totals:
            t.add_row(r.narrative, r.group, str(r.documents), str(r.dated), str(r.undated),
                      *((str(r.volume), _pct(r.share)) if normalise else ()))
        out.print(t)
    if note:
        out.print(_esc(note))


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.1f} %"


def contradictions(
    refresh: Annotated[bool, typer.Option("--refresh", help="Detect again first (after new documents or narratives).")] = False,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this actor id.")] = None,
    cross_audience: Annotated[bool, typer.Option("--cross-audience", help="Only pairs across audiences.")] = False,
    top: Annotated[int, typer.Option("--top", help="At most this many findings per actor (the head of its list).")] = 10,
    review: Annotated[str | None, typer.Option(
        "--review", help="unreviewed | hide-rejected | confirmed | rejected (default: hide-rejected).")] = "hide-rejected",
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many findings in all.")] = 100,
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False, runner: RunnerOpt = None,
    ray_address: RayAddressOpt = None,
) -> None:
    """Pairs of one actor's statements that contradict each other, quotes side by side.

    Examples: narratrace contradictions --cross-audience --actor kavaran-state

        narratrace contradictions --top 20 --review unreviewed   (the review queue)

        narratrace contradictions --refresh --runner ray   (NLI scoring as a Ray job)

    One finding per actor, claim pair and pair of documents; "+N folded" counts the other sentence
    pairs of the same claims in the same two documents. Scores are probabilities: evidence to read,
    not a verdict.
    """
    ws = open_ws(workspace)
    if refresh:
        ws.analyze(["contradictions"], options={"contradictions": {"actor": actor}} if actor else None,
                   progress=CliProgress(err), runner=_runner(runner, ray_address))
    rows = ws.contradictions(actor=actor, cross_audience=True if cross_audience else None, limit=limit, top=top,
                             review=review)
    if as_json:
        return _print_json(rows.dicts())
    if not rows:
        out.print("no contradictions stored (run `narratrace analyze`, or add `--refresh`)")
        return
    for c in rows:
        flags = " ".join(f for f, on in (("[bold red]cross-audience[/]", c.cross_audience),
                                          ("[magenta]cross-language[/]", c.cross_language)) if on)
        why = f"{c.narrative_a} ✕ {c.narrative_b}" if c.kind != "nli" else f"NLI p(contradiction)={c.p_contradict:.2f}"
        out.print(f"\n[bold]#{c.id}[/] {c.actor or '—'} · {c.kind} · p {c.score:.2f} · {why} {flags}"
                  + (f" · +{c.folded} folded" if c.folded else "") + (f" · review: {c.review}" if c.review else ""))
        t = Table(show_header=False, box=None, padding=(0, 1))
        t.add_column(width=34)
        t.add_column()
        for side in ("a", "b"):
            meta = (f"{_day(getattr(c, side + '_published_at'))} {getattr(c, side + '_source') or '—'}"
                    f" ({getattr(c, side + '_audience') or '?'}, {getattr(c, side + '_language') or '?'})"
                    f" s{getattr(c, side + '_sentence_id')}")
            t.add_row(meta, _esc(getattr(c, side + "_text")))
        out.print(t)


def compare(
    a: Annotated[str, typer.Argument(help="First statement (any language).")],
    b: Annotated[str, typer.Argument(help="Second statement (any language).")],
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """Entailment / neutral / contradiction between two statements, both directions, with scores.

    Example: narratrace compare "The Front has no support at home." "جبهه اعتراضات را در چهارده شهر سازمان داد."
    """
    from narratrace.workspace import Workspace  # lazy: CLI start-up
    if workspace:
        res = open_ws(workspace).compare(a, b)
    else:  # no workspace needed: a throwaway store holds the two cached vectors
        with tempfile.TemporaryDirectory() as tmp, Workspace(Path(tmp) / "compare.db", create=True) as ws:
            res = ws.compare(a, b)
    if as_json:
        return _print_json(res)
    out.print(f"[bold]{res['label']}[/]  (p contradiction either way {res['p_contradiction']:.2f}; "
              f"similarity {res['similarity']:.3f})")
    for k, name in (("a_to_b", "A ⇒ B"), ("b_to_a", "B ⇒ A")):
        r = res[k]
        out.print(f"  {name}: {r['label']} (e {r['entailment']:.2f} · n {r['neutral']:.2f} · c {r['contradiction']:.2f})")
    out.print(f"[dim]model: {res['nli_model']} — evidence, not a verdict[/]")


@review_app.command("match")
def review_match(
    sentence_id: Annotated[int, typer.Argument(help="Sentence id (from `narratives matches`).")],
    narrative: Annotated[str, typer.Option("--narrative", help="Narrative id.")],
    confirm: Annotated[bool, typer.Option("--confirm/--reject", help="Confirm or reject the match.")] = True,
    stance: Annotated[str | None, typer.Option("--stance", help="Correct the stance: asserts, denies, neutral.")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Confirm, reject or correct a sentence × narrative match.

    Example: narratrace review match 812 --narrative no-domestic-support --confirm --stance asserts
    """
    open_ws(workspace).review("match", sentence_id, "confirmed" if confirm else "rejected",
         narrative=narrative, stance=stance, note=note)
    out.print("review stored")


@review_app.command("contradiction")
def review_contradiction(
    sentence_a: Annotated[int, typer.Argument(help="One sentence id of the pair.")],
    sentence_b: Annotated[int, typer.Argument(help="The other sentence id.")],
    confirm: Annotated[bool, typer.Option("--confirm/--reject")] = True,
    note: Annotated[str | None, typer.Option("--note")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Confirm or reject a contradiction between two sentences.

    Example: narratrace review contradiction 812 1290 --confirm --note "same week, two audiences"
    """
    open_ws(workspace).review("contradiction", sentence_a, "confirmed" if confirm else "rejected",
         other_sentence_id=sentence_b, note=note)
    out.print("review stored")


def train(
    from_reviews: Annotated[bool, typer.Option("--from-reviews", help="Add the workspace's analyst reviews "
                                                                      "as training pairs.")] = False,
    eval_dir: Annotated[Path, typer.Option("--eval-dir", help="Folder holding nli-train/ (see its README).")]
    = Path("../shared/eval"),
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the model (.npz deltas).")]
    = Path("nli-cross.npz"),
    steps: Annotated[int, typer.Option("--steps", help="Optimiser steps (the shipped CPU recipe: 3000).")] = 3000,
    device: Annotated[str, typer.Option("--device", help="cpu, or cuda for a GPU run.")] = "cpu",
    train_layers: Annotated[int, typer.Option("--train-layers", help="Top encoder layers fine-tuned (1-12).",
                                              min=1, max=12)] = 8,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False,
) -> None:
    """Train the NLI cross-encoder (needs the ml extra: torch), optionally with analyst reviews.

    The shipped recipe runs on a CPU in about an hour (2 cores); a GPU run of the same script
    takes minutes. Use the result with NARRATRACE_NLI_MODEL=PATH, then re-run `narratrace
    analyze` (matches and contradictions are re-scored; reviews are kept). Example:

        narratrace train --from-reviews -w campaign.db --eval-dir ../shared/eval -o campaign-nli.npz
    """
    if not (eval_dir / "nli-train").is_dir():
        fail(f"{eval_dir} must hold nli-train/ (the training data; see its README); give --eval-dir")
    try:
        from narratrace.training.cross_nli import train as train_cross  # lazy: torch, training only
    except ImportError as exc:
        fail(f"training needs torch: pip install 'narratrace[ml]' ({exc})")
    extra = None
    if from_reviews:
        extra = open_ws(workspace).reviewed_pairs()
        if not extra:
            fail("no reviews to learn from yet: confirm or reject matches first (`narratrace review --help`)")
        err.print(f"{len(extra)} reviewed pairs added to the training data")
    result = train_cross(str(eval_dir), str(output), steps=steps, device=device, train_layers=train_layers,
                         seed=seed, extra_pairs=extra, log=lambda m: err.print(m, highlight=False))
    if as_json:
        return _print_json({k: v for k, v in result.items() if k != "history"})
    out.print(f"wrote {output} (best dev accuracy {result['best_dev']:.4f}); use it with NARRATRACE_NLI_MODEL={output}")


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(index)
    app.command()(analyze)
    app.command()(contradictions)
    app.command()(compare)
    app.add_typer(narratives_app, name="narratives")
    app.add_typer(review_app, name="review")
