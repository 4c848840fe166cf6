"""The analysis pipeline: every stage ``analyze`` can run, in the one order it runs them.

    embed ─► quotes ─► match ─► contradictions ─► (discover) ─► coordination

Each stage is declared once, where its work lives (``match/stages.py``, ``enrich/stages.py``,
``detect/stages.py``), with ``@stage(name, requires=…, writes=…, version=…)``. This module fixes
the order, checks it (every requirement is written by an earlier stage or by ingest and the
registries), and runs a selection of it over one ``Context``. The CLI (`narratrace analyze`), the
demo, the REST API and the benchmarks all call ``run`` (through ``Workspace.analyze``), so there
is one order and the embedding runs once per analyze.

What ``run`` does for a selection:
- stages run in the declared order, whatever order they were named in;
- a selected stage that needs what an *incremental* stage writes (``embed``, ``quotes``: they
  only do what is new, so they cost nothing when up to date) pulls that stage in;
- a selected stage that needs what a non-incremental stage writes (``match`` for
  ``contradictions``) needs it selected too, or run before (recorded in ``stage_state``);
- a stage whose declared version differs from the one last recorded is redone (``ctx.redo``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from narratrace import stage_names
from narratrace.context import REGISTRY, Context, Stage, options_for
from narratrace.detect import stages as _detect_stages  # noqa: F401  (declares contradictions, discover, coordination)
from narratrace.enrich import stages as _enrich_stages  # noqa: F401  (declares quotes)
from narratrace.errors import Conflict, InvalidInput
from narratrace.match import stages as _match_stages  # noqa: F401  (declares embed, match)
from narratrace.store.models import StageState

# What exists before any stage runs: written by ingest (documents, sentences, their MinHash
# signatures) and by the registries the analyst imports (sources, narratives, entities).
INPUTS = ("documents", "sentences", "document_signatures", "sources", "narratives", "entities")

# The one order (stage_names.py, readable without importing the stages).
ORDER, DEFAULT = stage_names.ORDER, stage_names.DEFAULT


def stages(names: Iterable[str] = ORDER) -> list[Stage]:
    return [REGISTRY[n] for n in names]


def check(order: Sequence[str] = ORDER, inputs: Iterable[str] = INPUTS) -> None:
    """Fail when a stage requires what neither the inputs nor an earlier stage write (spaCy's
    ``analyze_pipes``), or when a name is not a declared stage."""
    have = set(inputs)
    for name in order:
        if name not in REGISTRY:
            raise InvalidInput(f"unknown stage '{name}' (stages: {', '.join(ORDER)})")
        st = REGISTRY[name]
        missing = [r for r in st.requires if r not in have]
        if missing:
            raise InvalidInput(f"stage '{name}' requires {', '.join(missing)}, which no earlier stage writes")
        have.update(st.writes)
    undeclared = set(REGISTRY) - set(ORDER)
    if order is ORDER and undeclared:
        raise InvalidInput(f"stages declared but not in pipeline.ORDER: {', '.join(sorted(undeclared))}")


def plan(selected: Iterable[str] | None, done: Iterable[str] = ()) -> list[str]:
    """The stages to run for a selection (None: the default), in pipeline order, with the
    incremental stages they need pulled in. ``done``: stages recorded as run before."""
    names = list(DEFAULT if selected is None else selected)
    for n in names:
        if n not in REGISTRY:
            raise InvalidInput(f"unknown stage '{n}' (stages: {', '.join(ORDER)})")
    chosen = set(names)
    writer = {w: n for n in ORDER for w in REGISTRY[n].writes}
    changed = True
    while changed:  # pull in incremental producers, transitively
        changed = False
        for n in list(chosen):
            for req in REGISTRY[n].requires:
                producer = writer.get(req)
                if producer and producer not in chosen and REGISTRY[producer].incremental:
                    chosen.add(producer)
                    changed = True
    order = [n for n in ORDER if n in chosen]
    have, done = set(INPUTS), set(done)
    for n in order:
        for req in REGISTRY[n].requires:
            producer = writer.get(req)
            if req not in have and producer not in done:
                raise Conflict(f"stage '{n}' needs {req} from stage '{producer}', which has not run: "
                               f"add it (--stages {producer},{n}) or run `narratrace analyze` once")
        have.update(REGISTRY[n].writes)
    return order


def recorded(ctx: Context) -> dict[str, str]:
    """Stage name → the version of its last completed run."""
    with ctx.sessions() as s:
        return dict(s.execute(select(StageState.stage, StageState.version)).all())


def run(ctx: Context, selected: Iterable[str] | None = None, options: dict[str, dict] | None = None) -> dict:
    """Run the selected stages (None: the default analysis) in pipeline order over one context.
    ``options``: per stage name, its keyword options (checked against its signature). Returns
    each stage's report, by name. A failing stage stops the run; stages before it stay recorded."""
    options = dict(options or {})
    for name in options:
        if name not in REGISTRY:
            raise InvalidInput(f"options for unknown stage '{name}' (stages: {', '.join(ORDER)})")
    versions = recorded(ctx)
    order = plan(selected, done=versions)
    for name in options:
        if name not in order:
            raise InvalidInput(f"options given for stage '{name}', which this run does not include")
    checked = {n: options_for(REGISTRY[n], options.get(n, {})) for n in order}
    report: dict[str, dict] = {}
    for name in order:
        st = REGISTRY[name]
        ctx.redo = name in versions and versions[name] != st.version
        try:
            report[name] = st.run(ctx, **checked[name])
        finally:
            ctx.redo = False
        _record(ctx, st, report[name])
    return report


def _record(ctx: Context, st: Stage, result: dict) -> None:
    with ctx.sessions.begin() as s:
        row = s.get(StageState, st.name) or StageState(stage=st.name)
        row.version, row.result = st.version, _jsonable(result)
        row.finished_at = datetime.now(UTC).replace(tzinfo=None)
        s.add(row)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x if isinstance(x, (str, int, float, bool, type(None))) else str(x)


check()  # at import: a stage whose requirements nothing writes fails every run, so fail early
