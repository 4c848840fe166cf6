"""What a pipeline stage receives: the ``Context``, and how a stage declares itself (``@stage``).

A stage never sees the Workspace (that is the faces' object): it gets the store's sessions, the
runner resolved once for the whole run, a progress reporter, and the vector store and NLI model,
each loaded on first use and shared by every stage of the run. The order stages run in, and the
check that each one's requirements are written by an earlier one, are in ``pipeline.py``.

    @stage("contradictions", requires=("sentence_vectors", "narrative_match"),
           writes=("contradiction",), version="1")
    def find_contradictions(ctx: Context, *, actor: str | None = None) -> dict: ...

(spaCy's ``@Language.factory(requires=…, assigns=…)``.)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from narratrace import settings
from narratrace.errors import InvalidInput
from narratrace.match.embed import get_embedder
from narratrace.match.nli import load_nli
from narratrace.match.vectors import VectorStore
from narratrace.run import get_runner
from narratrace.store.postgres import PgVectorIndex

Count = Callable[[int], None]


class Progress(Protocol):
    """How stages report progress. ``step(label)`` is a context manager yielding
    ``(set_total, advance)``; a face shows it as a bar, a line per stage, or not at all."""

    def step(self, label: str) -> Any: ...


class SilentProgress:
    """No output (the API, tests, notebooks)."""

    @contextmanager
    def step(self, label: str) -> Iterator[tuple[Count, Count]]:
        yield (lambda n: None), (lambda n=1: None)


@dataclass(frozen=True)
class Stage:
    """One declared pipeline stage.

    - ``requires`` / ``writes``: names of what the stage reads and produces (``sentence_vectors``,
      ``narrative_match``, …); ``pipeline.check`` fails when a requirement is written by no earlier stage.
    - ``version``: bump it when the stage's output changes meaning; the next run redoes the stage
      from scratch (``ctx.redo`` is true) and records the new version in ``stage_state``.
    - ``incremental``: the stage only works on what is new since its last run, so it costs nothing
      when up to date; a selected stage that needs its output pulls it in (``analyze --stages``).
    - ``run(ctx, **options)`` returns a JSON-ready dict of counts.
    """

    name: str
    run: Callable[..., dict]
    requires: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    version: str = "1"
    incremental: bool = False
    label: str = ""
    help: str = ""


REGISTRY: dict[str, Stage] = {}


def stage(name: str, *, requires: tuple[str, ...] = (), writes: tuple[str, ...] = (), version: str = "1",
          incremental: bool = False, label: str | None = None) -> Callable:
    """Declare ``fn(ctx, **options) -> dict`` as the stage ``name`` (see ``Stage``)."""

    def register(fn: Callable[..., dict]) -> Callable[..., dict]:
        if name in REGISTRY and REGISTRY[name].run is not fn:
            raise ValueError(f"stage '{name}' is declared twice ({REGISTRY[name].run.__module__} and {fn.__module__})")
        doc = (fn.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        REGISTRY[name] = Stage(name, fn, tuple(requires), tuple(writes), str(version), incremental,
                               label or name, " ".join(doc.split()))
        return fn

    return register


@dataclass
class Context:
    """The store, the runner and the shared models for one run of the pipeline.

    ``runner`` is resolved once (a Ray runner starts Ray once for all stages); ``vectors`` and
    ``nli`` load on first use; ``redo`` is set by the pipeline for a stage whose declared version
    differs from the one last recorded.
    """

    sessions: sessionmaker
    engine: Engine
    path: str
    runner: Any = None
    embedder: str | None = None
    progress: Progress = field(default_factory=SilentProgress)
    redo: bool = False
    _vectors: Any = field(default=None, repr=False)
    _nli: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.runner = get_runner(self.runner)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def vectors(self):
        """The vector store (embedding cache + nearest-neighbour index), loaded once."""
        if self._vectors is None:
            index_dir, factory = None, None
            if self.dialect == "postgresql":
                factory = lambda model_id, dim: PgVectorIndex(self.engine, model_id, dim)  # noqa: E731
            elif self.path != ":memory:":
                index_dir = Path(str(self.path) + ".vectors")
            self._vectors = VectorStore(self.sessions, get_embedder(self.embedder), index_dir, factory)
        return self._vectors

    @property
    def nli(self):
        """The NLI model ($NARRATRACE_NLI_MODEL, else the shipped one), loaded once."""
        if self._nli is None:
            self._nli = load_nli(settings.get("NARRATRACE_NLI_MODEL") or None)
        return self._nli


def options_for(stage_: Stage, options: dict[str, Any]) -> dict[str, Any]:
    """A stage's own options, checked against its signature so a typo is an error, not ignored."""
    params = inspect.signature(stage_.run).parameters
    allowed = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    unknown = set(options) - allowed
    if unknown:
        raise InvalidInput(f"stage '{stage_.name}' has no option {', '.join(sorted(unknown))} "
                           f"(it takes: {', '.join(sorted(allowed)) or 'none'})")
    return options
