"""The Python API, and the one object every face (CLI, REST API, dashboard, reports, demo,
notebooks) goes through: imports and ingest, one ``analyze()``, and documented reads.

    >>> from narratrace import Workspace
    >>> ws = Workspace("campaign.db", create=True)     # create=True: a new file; without it, a typo is an error
    >>> ws.import_sources("sources.yaml")
    >>> ws.ingest(["articles/"]).summary()
    >>> ws.analyze()                                    # every default stage, in pipeline order
    >>> ws.search("cult", audience="foreign").df()

The Workspace holds no SQL and no algorithm: reads are in ``store/queries/``, stages in their
flow folders (declared in ``pipeline.py``), record types in ``records.py``. Every read that
narrows documents takes the same filters, spelled out as keywords —

- ``source``: a source key or several; ``actor``: sources owned by this actor;
- ``audience`` (``domestic``, ``foreign``, …); ``language`` (``en``, ``fa``, …);
- ``since`` / ``until``: inclusive bounds; a bare date means that whole day in UTC (``Filters``);
- ``filters``: a ready ``Filters`` object; the keywords are applied on top of it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from narratrace import pipeline, settings
from narratrace.context import Context, Progress, SilentProgress
from narratrace.detect import coordination as co
from narratrace.detect import provenance as prov
from narratrace.detect.discovery import set_status
from narratrace.enrich.annotate import speaker_keys
from narratrace.enrich.entities import apply_entities, load_entities
from narratrace.enrich.language import document_language
from narratrace.errors import InvalidInput, NotFound
from narratrace.filters import Filters, unknown
from narratrace.ingest.items import DEFAULT_MAX_BYTES, RawItem
from narratrace.match import nli as match_nli
from narratrace.match.registry import apply_narratives, load_narratives
from narratrace.match.stance import calibrate as calibrate_matching
from narratrace.records import (
    DocumentInfo,
    EntityMentions,
    GlossInfo,
    QuoteTrail,
    Records,
    ReviewInfo,
    SentenceHit,
    SpanInfo,
    SpeakerInfo,
    SpreadStep,
    TranslationInfo,
)
from narratrace.report import prevalence as report_prevalence
from narratrace.report.export import export_records
from narratrace.report.graphs import write_graph
from narratrace.run import get_runner
from narratrace.store import db
from narratrace.store.queries import contradictions as q_contradictions
from narratrace.store.queries import narratives as q_narratives
from narratrace.store.queries import provenance as q_provenance
from narratrace.store.queries import record as q_record
from narratrace.store.queries import translations as q_translations
from narratrace.store.registry import apply_registry, load_registry

DEFAULT_WORKSPACE = "narratrace.db"
Bound = str | date | datetime | None
Sources = str | Sequence[str] | None

if TYPE_CHECKING:  # the ingest stack (trafilatura, extractors: ~0.6 s) loads only when a command ingests
    from narratrace.ingest.pipeline import IngestReport
    from narratrace.ingest.pipeline import Progress as IngestProgress


class WorkspaceError(InvalidInput):
    """A request the Workspace cannot do as asked (kept for callers that catch it by name)."""


class WorkspaceNotFound(WorkspaceError, NotFound):
    pass


def default_path() -> str:
    return settings.get("NARRATRACE_WORKSPACE") or DEFAULT_WORKSPACE


RECORD_TYPES = ("documents", "sentences", "sources", "quotes", "speakers", "entities", "coordination",
                "narratives", "matches", "contradictions", "reviews", "translations")


class Workspace:
    def __init__(self, path: str | os.PathLike | None = None, *, create: bool = False,
                 embedder: str | None = None, runner: Any = None) -> None:
        """Open (and migrate) the workspace at ``path``: an SQLite file or a ``postgresql://`` URL
        (default: $NARRATRACE_WORKSPACE, else ./narratrace.db). A missing SQLite file is an error
        (a typo must not open a new, empty workspace) unless ``create=True``, as `narratrace init` does.
        ``embedder``: the sentence encoder (default e5-small); ``runner``: where the
        model stages run ("local", "ray" or a runner object; default $NARRATRACE_RUNNER, else local)."""
        self.path = str(path or default_path())
        self.embedder_name = embedder
        self.runner = runner
        url = db.store_url(self.path)
        if url.startswith("sqlite"):
            file = Path(url.removeprefix("sqlite:///"))
            if not file.exists():
                if not create:
                    raise WorkspaceNotFound(f"no workspace at {file}: create one with `narratrace init --workspace "
                                            f"{file}` (Python: Workspace(path, create=True)), or check the path")
                file.parent.mkdir(parents=True, exist_ok=True)
            db.check_sqlite_file(file)  # another program's database is refused before it is touched
        self.engine = db.make_engine(url)
        self._revision = db.Revision(url)
        db.upgrade(self.engine)
        self.sessions = db.session_factory(self.engine)
        self._ctx: Context | None = None
        self._near_index = None  # near-duplicate LSH, kept between ingests (ingest/dedup.py)
        # The vector store and models load and update lazily and are not thread-safe: one model-
        # backed read (semantic search, quote trails, compare) or analysis at a time per workspace.
        self._models_lock = threading.RLock()

    def close(self) -> None:
        self._revision.close()
        self.engine.dispose()

    def revision(self) -> int | None:
        """A number that changes whenever anything commits to the store, from any process (SQLite);
        None where the store has no such counter (PostgreSQL). What a read cache keys on."""
        return self._revision.current()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def shown_path(self) -> str:
        """The workspace's path or URL with any password replaced (safe to print or log)."""
        return db.redact(self.path)

    # -- the pipeline ----------------------------------------------------------------------------

    def context(self) -> Context:
        """The Context stages run in. The vector store and NLI model it loads are kept for the
        Workspace's lifetime (shared by every later analyze and model-backed read)."""
        if self._ctx is None:
            self._ctx = Context(self.sessions, self.engine, self.path, runner=self.runner, embedder=self.embedder_name)
        return self._ctx

    def analyze(self, stages: Iterable[str] | None = None, *, options: dict[str, dict] | None = None,
                progress: Progress | None = None, runner: Any = None) -> dict[str, dict]:
        """Run the analysis: the default stages (``pipeline.DEFAULT``) or the named ones, always in
        pipeline order; incremental stages they need are pulled in. ``options``: per stage, its
        keyword options, e.g. ``{"contradictions": {"actor": "kv-gov"}}``. ``runner`` overrides the
        Workspace's for this call. Returns each stage's counts by name.

        >>> ws.analyze()                                   # embed, match, contradictions, quotes, coordination
        >>> ws.analyze(["contradictions"], options={"contradictions": {"actor": "kv-gov"}})
        """
        with self._models_lock:
            ctx = self.context()
            saved = ctx.runner, ctx.progress
            ctx.progress = progress or SilentProgress()
            if runner is not None:
                ctx.runner = get_runner(runner)
            try:
                return pipeline.run(ctx, stages, options)
            finally:
                ctx.runner, ctx.progress = saved

    def stages(self) -> list[dict]:
        """Every declared stage in pipeline order: name, requires, writes, version, whether it runs
        by default, and its last completed run here (version, when, what it reported)."""
        with self.sessions() as s:
            last = {r.stage: r for r in q_record.stage_states(s)}
        out = []
        for st in pipeline.stages():
            r = last.get(st.name)
            out.append({"name": st.name, "requires": list(st.requires), "writes": list(st.writes),
                        "version": st.version, "incremental": st.incremental, "default": st.name in pipeline.DEFAULT,
                        "help": st.help, "last_version": r.version if r else None,
                        "last_run": r.finished_at.isoformat() if r else None, "last_result": r.result if r else None})
        return out

    # -- registries (the analyst's data) ---------------------------------------------------------

    def import_sources(self, path: str | os.PathLike) -> dict[str, int]:
        """Import or update actors and sources (YAML); everything is checked before anything is written."""
        data = load_registry(Path(path))
        with self.sessions.begin() as s:
            return apply_registry(s, data)

    def import_narratives(self, path: str | os.PathLike) -> dict[str, int]:
        """Import or update narratives (YAML with a ``narratives:`` list); checked before written."""
        specs = load_narratives(path)
        with self.sessions.begin() as s:
            return apply_narratives(s, specs)

    def import_entities(self, path: str | os.PathLike) -> dict[str, int]:
        """Import or update the alias registry (YAML or CSV). Afterwards run
        ``analyze(["quotes"], options={"quotes": {"redo": True}})`` to re-link stored quotes."""
        rows = load_entities(Path(path))
        with self.sessions.begin() as s:
            return apply_entities(s, rows)

    def set_narrative_status(self, key: str, status: str, *, name: str | None = None) -> None:
        """Promote (``active``), dismiss or reopen (``candidate``) a narrative; optionally rename it."""
        set_status(self.sessions, key, status, name=name)

    # -- ingest ----------------------------------------------------------------------------------

    def ingest(self, inputs: Sequence[str | os.PathLike], *, source: str | None = None,
               mapping: dict[str, str] | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
               recursive: bool = True, source_from_folder: bool = False, progress: IngestProgress | None = None,
               on_files=None, workers: int | None = None, follow_symlinks: bool = False) -> IngestReport:
        """Ingest local files, directories and globs.

        ``follow_symlinks``: walking a folder (or a glob) skips, and reports, symlinks that lead out
        of it unless this is set; a file named directly is always read.

        ``source_from_folder``: analysts often keep one folder per outlet (``corpus/<key>/…``);
        a file under such a folder is attributed to that source when ``<key>`` is registered,
        which is how transcripts and posts without a URL get their source. A page's own URL
        still decides where no folder key applies. A folder that names no registered source is
        listed in the report's ``warnings`` (with the closest source id), never passed over silently.
        """
        from narratrace.ingest.files import discover, folder_warnings, read_path  # lazy: start-up of read commands

        files, problems = discover([str(x) for x in inputs], recursive=recursive,
                                   follow_symlinks=follow_symlinks)
        if on_files:
            on_files(len(files))
        roots = [Path(x).resolve() for x in inputs if Path(x).is_dir()] if source_from_folder else []
        keys = {src.key for src in self.sources()} if roots else set()
        warnings = folder_warnings(roots, files, keys, source_from_folder)

        def folder_key(f: Path) -> str | None:
            for root in roots:
                try:
                    parts = f.resolve().relative_to(root).parts
                except ValueError:
                    continue
                if len(parts) > 1 and parts[0] in keys:
                    return parts[0]
            return None

        def stream():
            yield from problems
            for f in files:
                key = folder_key(f) if roots else None
                for item in read_path(f, mapping=mapping, max_bytes=max_bytes):
                    if key and isinstance(item, RawItem) and not item.source:
                        item.source = key
                    yield item

        report = self.ingest_items(stream(), source=source, progress=progress, workers=workers)
        report.warnings.extend(warnings)
        return report

    def ingest_urls(self, urls: Sequence[str], *, mode: str = "page", source: str | None = None,
                    allow_private: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                    progress: IngestProgress | None = None, fetcher=None) -> IngestReport:
        """Fetch pages, feeds (mode="feed") or sitemaps (mode="sitemap"); only when asked."""
        from narratrace.ingest.web import Fetcher, iter_urls  # lazy: start-up of read commands

        fetcher = fetcher or Fetcher(allow_private=allow_private, max_bytes=max_bytes)
        return self.ingest_items(iter_urls(fetcher, list(urls), mode), source=source, progress=progress)

    def ingest_items(self, items: Iterable[RawItem], *, source: str | None = None,
                     progress: IngestProgress | None = None, workers: int | None = None) -> IngestReport:
        """Ingest already-read items (the seam for custom readers). workers=1 disables processes."""
        from narratrace.ingest.pipeline import Ingestor  # lazy: start-up of read commands

        if self._near_index is None:
            from narratrace.ingest.dedup import NearDuplicateIndex  # lazy: start-up of read commands

            self._near_index = NearDuplicateIndex()
        return Ingestor(self.sessions, source=source, workers=workers,
                        near_index=self._near_index).run(items, progress=progress)

    # -- the record ------------------------------------------------------------------------------

    def _scope(self, filters: Filters | None = None, **values) -> Filters:
        """``Filters.of`` plus a check of its source and actor keys against this workspace: a typo
        ("--source kta") is an InvalidInput naming the closest key, never an empty "no matches"."""
        f = Filters.of(filters, **values)
        if f.source or f.actor:
            known = self.names()
            f.check_known(sources=known["sources"], actors=known["actors"])
        return f

    def sources(self) -> Records:
        """Registered sources (outlets, channels) with their actor, audience, locators and document count."""
        with self.sessions() as s:
            return q_record.sources(s)

    def names(self) -> dict[str, dict[str, str]]:
        """Display names by key: ``{"actors": {key: name}, "sources": {key: name}}``."""
        with self.sessions() as s:
            return q_record.names(s)

    def documents(self, *, limit: int | None = None, offset: int = 0, with_text: bool = False,
                  include_duplicates: bool = True, source: Sources = None, actor: str | None = None,
                  audience: str | None = None, language: str | None = None, since: Bound = None,
                  until: Bound = None, filters: Filters | None = None) -> Records:
        """Documents, oldest first (undated last), with the filters (module docstring)."""
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                       until=until)
        with self.sessions() as s:
            return q_record.documents(s, f, limit=limit, offset=offset, with_text=with_text,
                                      include_duplicates=include_duplicates)

    def document(self, doc_id: int) -> DocumentInfo:
        """One document with its clean text and sentences; NotFound when there is none."""
        if not 0 < doc_id < 2**63:  # beyond a 64-bit id no row can exist (SQLite would overflow: a 500)
            raise NotFound(f"no document {doc_id}")
        with self.sessions() as s:
            return q_record.document(s, doc_id)

    def document_spans(self, doc_id: int) -> list[SpanInfo]:
        """Every stored span of a document to highlight (quotes, cues, speakers, mentions, matched
        sentences), in text order; NotFound when there is no such document."""
        with self.sessions() as s:
            return q_provenance.document_spans(s, doc_id, q_record.document_text(s, doc_id))

    def sentences(self, *, limit: int | None = None, source: Sources = None, actor: str | None = None,
                  audience: str | None = None, language: str | None = None, since: Bound = None,
                  until: Bound = None, filters: Filters | None = None) -> Records:
        """Sentences with their exact spans, in document order, with the filters."""
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                       until=until)
        with self.sessions() as s:
            return q_record.sentences(s, f, limit=limit)

    def sentence_spans(self, ids: Iterable[int]) -> dict[int, tuple[int, int, int]]:
        """``{sentence id: (document id, start, end)}`` for the given sentence ids that exist."""
        with self.sessions() as s:
            return q_record.sentence_spans(s, list(ids))

    def search(self, query: str, *, limit: int = 20, source: Sources = None, actor: str | None = None,
               audience: str | None = None, language: str | None = None, since: Bound = None,
               until: Bound = None, filters: Filters | None = None) -> Records:
        """Full-text search over clean text and titles, ranked (BM25 on SQLite, ts_rank_cd on
        PostgreSQL), with the filters. Hostile query syntax is neutralised, never an error."""
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                       until=until)
        with self.sessions() as s:
            return q_record.search(s, query, f, limit=limit)

    def semantic_search(self, query: str, *, limit: int = 20, min_score: float = 0.0, source: Sources = None,
                        actor: str | None = None, audience: str | None = None, language: str | None = None,
                        since: Bound = None, until: Bound = None, filters: Filters | None = None) -> Records:
        """Sentences closest in meaning to ``query``, in any language (cosine of e5 vectors), with
        the filters; indexes new sentences first."""
        query = (query or "").strip()
        if not query:
            raise InvalidInput("empty query: give a statement to search for")
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                       until=until)
        with self._models_lock:
            vs = self.context().vectors
            vs.update()
            qv = vs.embed([query], kind="query")[0]
            k = max(limit * 5, 50)
            with self.sessions() as s:
                while True:
                    hits = vs.search(qv, k)
                    scores = {sid: sc for sid, sc in hits if sc >= min_score}
                    out = q_narratives.sentence_hits(s, scores, f)
                    if len(out) >= limit or len(hits) < k or k >= 20_000:
                        break
                    k *= 4  # filters removed too many: look further down the list
        out.sort(key=lambda h: -h.score)
        return Records(out[:limit], of=SentenceHit)

    def stats(self) -> dict:
        """Counts of what the workspace holds: documents, duplicates, sentences, languages, sources,
        the publication range and ingest problems."""
        with self.sessions() as s:
            return q_record.stats(s, self.shown_path)

    def cleaning_totals(self) -> dict[str, int]:
        """What cleaning removed over all documents: rule lines, learned chrome, tails, repeated paragraphs."""
        with self.sessions() as s:
            return q_record.cleaning_totals(s)

    def problems(self, limit: int = 100) -> list[dict]:
        """The latest ingest problems (skipped and failed inputs with their reasons), newest first."""
        with self.sessions() as s:
            return q_record.problems(s, limit)

    # -- narratives ------------------------------------------------------------------------------

    def narratives(self, *, include_dismissed: bool = False) -> Records:
        """Narratives (registered and discovered candidates) with their statements and match counts."""
        with self.sessions() as s:
            return q_narratives.narratives(s, include_dismissed=include_dismissed)

    def narrative_exists(self, key: str) -> None:
        """Raise NotFound unless a narrative ``key`` is stored."""
        with self.sessions() as s:
            q_narratives.narrative_id(s, key)

    def matches(self, narrative: str | None = None, *, stance: str | None = None, limit: int | None = None,
                source: Sources = None, actor: str | None = None, audience: str | None = None,
                language: str | None = None, since: Bound = None, until: Bound = None,
                filters: Filters | None = None, offset: int = 0, queue: bool = False, **queue_filters) -> Records:
        """Sentences matched to a narrative (or to any), oldest first, with stance, scores and the
        analyst's review, with the filters. ``queue``: unreviewed first, then the highest
        p(related) (the review queue's order); ``queue_filters``: ``match_queue_filters``."""
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                       until=until)
        # the queue checks its narrative key; a plain read keeps answering an unknown one with nothing
        kw = self._match_queue_filters(narrative if queue else None, **queue_filters)
        with self.sessions() as s:
            return q_narratives.matches(s, narrative, f, stance=stance, limit=limit, offset=offset, queue=queue, **kw)

    def count_matches(self, narrative: str | None = None, *, stance: str | None = None,
                      filters: Filters | None = None, **queue_filters) -> int:
        """How many matches ``matches`` lists with these filters and no limit."""
        f = self._scope(filters)
        kw = self._match_queue_filters(narrative, **queue_filters)
        with self.sessions() as s:
            return q_narratives.count_matches(s, narrative, f, stance=stance, **kw)

    def _match_queue_filters(self, narrative: str | None, *, holder_actor: str | None = None,
                             holder_kind: str | None = None, min_p: float | None = None,
                             review: str | None = None) -> dict:
        """The review queue's filters, checked: an unknown key is an error naming it, never an empty queue."""
        self._check_keys(narrative=narrative, actor=holder_actor, review=review, p=min_p)
        return {"holder_actor": holder_actor or None, "holder_kind": holder_kind or None, "min_p": min_p,
                "review": review}

    def _check_keys(self, *, narrative: str | None, actor: str | None, review: str | None, p: float | None) -> None:
        if narrative:
            self.narrative_exists(narrative)
        if actor:
            Filters.of(actor=actor).check_known(sources=(), actors=self.names()["actors"])
        if p is not None and not 0.0 <= p <= 1.0:
            raise InvalidInput(f"a minimum score or p(related) is between 0 and 1, not {p}")
        if review not in (None, *q_narratives.REVIEW_FILTERS):
            raise InvalidInput(f"unknown review filter '{review}' ({', '.join(q_narratives.REVIEW_FILTERS)})")

    def prevalence(self, *, period: str = "day", by: str = "audience", stance: str = "asserts",
                   narrative: str | None = None, unique: bool = False, normalise: bool = False,
                   source: Sources = None, actor: str | None = None, audience: str | None = None,
                   language: str | None = None, since: Bound = None, until: Bound = None,
                   filters: Filters | None = None) -> Records:
        """Documents carrying each narrative per ``period`` (day, week, month) and group (``by``:
        source, actor, audience, language, none), with ``stance`` (asserts, denies, neutral, any);
        reviews win over the model. Undated documents cannot be placed in a period: they come last
        per narrative as rows with ``period`` None ("not placed in time"), never dropped (a
        ``since``/``until`` filter leaves them out: it cannot place them either). With
        ``normalise``, each row also has the group's ``volume`` in that period (every document of
        that outlet/audience/… passing the filters, matched or not) and ``share`` = documents /
        volume. All periods together: ``prevalence_totals``; the sentence:
        ``report.prevalence.undated_note(rows)``."""
        rows, volumes = self._prevalence(period=period, by=by, stance=stance, narrative=narrative, unique=unique,
                                         normalise=normalise, source=source, actor=actor, audience=audience,
                                         language=language, since=since, until=until, filters=filters)
        return report_prevalence.normalise(rows, volumes) if normalise else rows

    def _prevalence(self, *, period: str, by: str, stance: str, narrative: str | None, unique: bool,
                    normalise: bool, source: Sources, actor: str | None, audience: str | None,
                    language: str | None, since: Bound, until: Bound, filters: Filters | None):
        if stance not in report_prevalence.STANCES:
            raise report_prevalence.PrevalenceError("stance must be asserts, denies, neutral or any")
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                       until=until)
        with self.sessions() as s:
            rows = q_narratives.prevalence_rows(s, f, by=by, stance=stance, narrative=narrative)
            vol = q_narratives.volume_rows(s, f, by=by) if normalise else None
        volumes = report_prevalence.volume(vol, period=period, unique=unique) if normalise else None
        return report_prevalence.prevalence(rows, period=period, unique=unique), volumes

    def prevalence_totals(self, *, by: str = "audience", stance: str = "asserts", narrative: str | None = None,
                          unique: bool = False, normalise: bool = False, source: Sources = None,
                          actor: str | None = None, audience: str | None = None, language: str | None = None,
                          since: Bound = None, until: Bound = None, filters: Filters | None = None) -> Records:
        """Prevalence over all periods: per narrative and group, the documents carrying it (dated +
        undated), the dated ones and the undated ones (``PrevalenceTotal``); with ``normalise``,
        the group's volume over all periods (dated or not) and the share; same arguments as
        ``prevalence``."""
        rows, volumes = self._prevalence(period="day", by=by, stance=stance, narrative=narrative, unique=unique,
                                         normalise=normalise, source=source, actor=actor, audience=audience,
                                         language=language, since=since, until=until, filters=filters)
        return report_prevalence.totals(rows, volumes)

    def undated_documents(self, *, source: Sources = None, actor: str | None = None, audience: str | None = None,
                          language: str | None = None, filters: Filters | None = None) -> int:
        """How many stored documents have no publication date (with the outlet, actor, audience and
        language filters): counted in every total, never placed in time."""
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language)
        with self.sessions() as s:
            return q_provenance.undated_documents(s, f)

    def narrative_spread(self, narrative: str, *, source: Sources = None, actor: str | None = None,
                         audience: str | None = None, language: str | None = None, since: Bound = None,
                         until: Bound = None, filters: Filters | None = None) -> Records:
        """Where a narrative first appeared, then each outlet in the order it first carried it
        (statements matched as asserting it; rejected matches left out). "First" is among dated
        statements only; outlets whose statements are all undated follow, ``first`` None, and each
        step counts its undated documents (``SpreadStep.undated``): none is dropped."""
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                       until=until)
        with self.sessions() as s:
            return Records(prov.narrative_spread(q_narratives.spread_rows(s, narrative, f)), of=SpreadStep)

    # -- contradictions --------------------------------------------------------------------------

    def contradictions(self, *, actor: str | None = None, cross_audience: bool | None = None,
                       limit: int | None = None, top: int | None = None, review: str | None = None,
                       narrative: str | None = None, min_score: float | None = None, filters: Filters | None = None,
                       offset: int = 0, queue: bool = False) -> Records:
        """Stored contradictions of ``actor`` (or every actor), cross-audience first, then by score;
        each side with its document id, span, text, outlet, audience, language and date. ``top``:
        the first N per actor; ``review``: "unreviewed", "hide-rejected", "confirmed" or "rejected";
        ``narrative``: either side matched to it; ``filters``: outlet, audience, language and dates
        (a pair passes when either side does), actor; ``min_score``: at least this score;
        ``queue``: unreviewed pairs first (the review queue's order)."""
        kw = self._contradiction_filters(actor=actor, cross_audience=cross_audience, review=review,
                                         narrative=narrative, min_score=min_score, filters=filters)
        with self.sessions() as s:
            return q_contradictions.contradictions(s, limit=limit, top=top, offset=offset, queue=queue, **kw)

    def count_contradictions(self, **kw) -> int:
        """How many pairs ``contradictions`` lists with these filters (same keywords) and no limit."""
        with self.sessions() as s:
            return q_contradictions.count_contradictions(s, **self._contradiction_filters(**kw))

    def _contradiction_filters(self, *, actor: str | None = None, cross_audience: bool | None = None,
                               review: str | None = None, narrative: str | None = None,
                               min_score: float | None = None, filters: Filters | None = None) -> dict:
        self._check_keys(narrative=narrative, actor=actor, review=review, p=min_score)
        return {"actor": actor, "cross_audience": cross_audience, "review": review, "narrative": narrative,
                "min_score": min_score, "filters": self._scope(filters) if filters else None}

    def compare(self, a: str, b: str) -> dict:
        """NLI between two statements, both directions: entail / neutral / contradict with scores."""
        a, b = (a or "").strip(), (b or "").strip()
        if not a or not b:
            raise InvalidInput("compare needs two non-empty statements")
        with self._models_lock:
            ctx = self.context()
            return match_nli.compare(ctx.nli, ctx.vectors, a, b)

    # -- reviews ---------------------------------------------------------------------------------

    def review(self, kind: str, sentence_id: int, verdict: str, *, narrative: str | None = None,
               other_sentence_id: int | None = None, stance: str | None = None, note: str | None = None,
               reviewer: str | None = None, tags: str | list[str] | None = None) -> ReviewInfo:
        """Confirm or reject a match (sentence × ``narrative``) or a contradiction (sentence pair);
        ``stance`` corrects a match's stance. ``note`` (≤ 2,000 characters) and ``tags`` (a list or
        comma-separated, ≤ 10 of ≤ 40 characters; longer is TooLarge): None keeps the review's own,
        "" / [] clears them. Reviews survive every re-run of the stages."""
        with self.sessions.begin() as s:
            return q_narratives.save_review(s, kind, sentence_id, verdict, narrative=narrative,
                                            other_sentence_id=other_sentence_id, stance=stance, note=note,
                                            reviewer=reviewer, tags=tags)

    def reviews(self) -> Records:
        """Every analyst review with what it judged (sentence ids, narrative key), who and when."""
        with self.sessions() as s:
            return q_narratives.reviews(s)

    def translate(self, text: str, *, sentence_id: int | None = None, quote_id: int | None = None,
                  language: str = "en", note: str | None = None, translator: str | None = None) -> TranslationInfo:
        """Store an analyst's rendering of a sentence (``sentence_id``) or of a quote's span
        (``quote_id``) in ``language``; setting it again replaces it. Keyed by the span, so it
        survives every re-run of the stages; the briefing shows it beside the original. A text over
        ``MAX_TRANSLATION_CHARS`` (or a note over ``MAX_NOTE_CHARS``) is refused (TooLarge)."""
        with self.sessions.begin() as s:
            return q_translations.save_translation(s, text, sentence_id=sentence_id, quote_id=quote_id,
                                                   language=language, note=note, translator=translator)

    def translations(self, *, document_ids: Iterable[int] | None = None, language: str | None = None) -> Records:
        """Every analyst translation (of these documents, into ``language``), with the original span."""
        with self.sessions() as s:
            return q_translations.translations(s, document_ids=document_ids, language=language)

    def glosses(self, sentence_ids: Iterable[int], *, language: str = "en") -> Records:
        """For each matched sentence (rejected matches left out), the narrative statement it was read
        as, in ``language`` (``GlossInfo``): what a briefing shows beside an untranslated quote,
        labelled as a gloss. The statements' language is identified here (statements carry none)."""
        with self.sessions() as s:
            rows = q_translations.statements_for(s, sentence_ids)
        out = Records(of=GlossInfo)
        lang_of: dict[str, str | None] = {}

        def in_language(text: str) -> bool:
            if text not in lang_of:
                lang_of[text] = document_language(text)
            return (lang_of[text] or "").split("-")[0] == language

        for sid, key, stance, text, kind, statements in rows:
            if text and in_language(text):
                out.append(GlossInfo(sid, key, stance, kind or "assertion", text, language, True))
                continue
            want = kind or "assertion"
            other = next((t for k, t in statements if k == want and in_language(t)), None)
            if other:
                out.append(GlossInfo(sid, key, stance, want, other, language, False))
        return out

    def calibrate_matching(self, narrative: str | None = None) -> list[dict]:
        """Precision and recall of narrative matching at each sensitivity (0.1 … 0.9) against the
        analyst's reviewed matches (of ``narrative``, or all): every reviewed pair is scored again
        as ``match`` scores it. Needs reviews; raises NotFound when there are none."""
        if narrative:
            self.narrative_exists(narrative)
        with self.sessions() as s:
            reviewed = q_narratives.match_verdicts(s, narrative)
        if not reviewed:
            raise NotFound("no reviewed matches to calibrate against: confirm or reject some matches first "
                           "(`narratrace review match`, or the dashboard)")
        with self._models_lock:
            ctx = self.context()
            return calibrate_matching(ctx.sessions, ctx.vectors, ctx.nli, ctx.runner, reviewed)

    def reviewed_pairs(self) -> list[tuple[str, str, str]]:
        """Analyst reviews as NLI training pairs (premise, hypothesis, label)."""
        with self.sessions() as s:
            return q_narratives.reviewed_pairs(s)

    # -- provenance ------------------------------------------------------------------------------

    def entities(self) -> Records:
        """The analyst's entities with aliases and how often they are mentioned and quoted."""
        with self.sessions() as s:
            return q_provenance.entities(s)

    def entity_mentions(self, entity: str, *, kind: str | None = None, limit: int | None = 100,
                        source: Sources = None, actor: str | None = None, audience: str | None = None,
                        language: str | None = None, since: Bound = None, until: Bound = None,
                        filters: Filters | None = None) -> EntityMentions:
        """Who quotes and names entity ``entity`` (its key), by outlet and by month, then each place
        with its document, outlet, date and exact span (oldest first, at most ``limit``). ``kind``:
        only "quote" (the entity is the speaker) or "mention" (it is named). NotFound for an unknown key."""
        if kind is not None and kind not in q_provenance.MENTION_KINDS:
            raise InvalidInput(unknown("kind", kind, q_provenance.MENTION_KINDS))
        if limit is not None and limit < 1:
            raise InvalidInput(f"limit must be at least 1, not {limit}")
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                        until=until)
        with self.sessions() as s:
            return q_provenance.entity_mentions(s, entity, f, kind=kind, limit=limit)

    def quotes(self, *, speaker: str | None = None, document: int | None = None, kind: str | None = None,
               attributed: bool | None = None, limit: int | None = None, source: Sources = None,
               actor: str | None = None, audience: str | None = None, language: str | None = None,
               since: Bound = None, until: Bound = None, filters: Filters | None = None) -> Records:
        """Stored quotes, oldest first. ``speaker`` is an entity key, a speaker key or a name;
        ``kind`` direct or indirect; ``attributed`` only quotes with (or without) a speaker."""
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                       until=until)
        with self.sessions() as s:
            return q_provenance.quotes(s, f, speakers=speaker_keys(speaker) if speaker else None, document=document,
                                       kind=kind, attributed=attributed, limit=limit)

    def speakers(self, *, min_outlets: int = 1, limit: int | None = None, source: Sources = None,
                 actor: str | None = None, audience: str | None = None, language: str | None = None,
                 since: Bound = None, until: Bound = None, filters: Filters | None = None) -> Records:
        """Who is quoted, by how many outlets, first where; sorted by outlets outside the speaker's
        own actor (the recycled voices first)."""
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                       until=until)
        with self.sessions() as s:
            rows = prov.speakers(q_provenance.speaker_rows(s, f), min_outlets=min_outlets)
        return Records(rows[:limit] if limit else rows, of=SpeakerInfo)

    def recycled_sources(self, k: int = 3, *, source: Sources = None, actor: str | None = None,
                         audience: str | None = None, language: str | None = None, since: Bound = None,
                         until: Bound = None, filters: Filters | None = None) -> Records:
        """Named people quoted by at least ``k`` distinct outlets that are not their own actor's."""
        rows = self.speakers(source=source, actor=actor, audience=audience, language=language, since=since,
                             until=until, filters=filters)
        return Records((sp for sp in rows if sp.other_outlets >= k and sp.named), of=SpeakerInfo)

    def quote_trails(self, *, speaker: str | None = None, min_documents: int = 2, source: Sources = None,
                     actor: str | None = None, audience: str | None = None, language: str | None = None,
                     since: Bound = None, until: Bound = None, filters: Filters | None = None) -> Records:
        """The same quote found in several documents, in any language: first carrier and repeaters."""
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                       until=until)
        with self.sessions() as s:
            rows = [r for r in q_provenance.quote_rows(s, f) if len(r["text"].strip()) >= prov.MIN_QUOTE_CHARS]
        if speaker:
            rows = [r for r in rows if speaker in (r["entity"], r["speaker_key"], r["speaker_name"])]
        if not rows:
            return Records(of=QuoteTrail)
        with self._models_lock:
            vectors = self.context().vectors.embed([r["text"] for r in rows], kind="passage")
        return Records(prov.quote_trails(rows, vectors, min_documents=min_documents), of=QuoteTrail)

    def citation_graph(self, *, documents: bool = False, source: Sources = None, actor: str | None = None,
                       audience: str | None = None, language: str | None = None, since: Bound = None,
                       until: Bound = None, filters: Filters | None = None):
        """networkx DiGraph speaker → outlet ("quoted by"), or speaker → document → outlet."""
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                       until=until)
        with self.sessions() as s:
            return prov.citation_graph(q_provenance.speaker_rows(s, f), q_provenance.outlet_meta(s),
                                       documents=documents)

    # -- coordinated publication -----------------------------------------------------------------

    def coordination(self, *, method: str | None = None, source: str | None = None,
                     limit: int | None = None) -> Records:
        """Stored coordination groups (``method``: near-duplicate or translation; ``source``: groups
        that include this outlet), largest first, each with its documents in publication order."""
        with self.sessions() as s:
            return q_provenance.coordination(s, method=method, source=source, limit=limit)

    def coordination_graph(self, *, method: str | None = None, directed: bool = False):
        """networkx Graph of outlets, edges weighted by the coordination groups they share; with
        ``directed``, a DiGraph from each group's first publisher to its followers, timed (``first``,
        ``last``) for a timeline. Nodes carry the outlet's name (``label``), actor and audience."""
        stored = self.coordination(method=method)
        outlets = {s.key: {"name": s.name, "actor": s.actor, "audience": s.audience} for s in self.sources()}
        if directed:
            return co.spread_network(stored, outlets)
        groups = [co.Group(g.method, [], g.first_document_id, g.first_source or "", 0.0, g.span_seconds,
                           [d.source or "" for d in g.documents]) for g in stored]
        G = co.outlet_network(groups)
        for key, d in G.nodes(data=True):
            meta = outlets.get(key, {})
            d.update(label=meta.get("name") or key, actor=meta.get("actor") or "", audience=meta.get("audience") or "")
        return G

    def finding_counts(self) -> dict[str, int]:
        """How many narratives, contradictions, quotes and coordination groups are stored."""
        with self.sessions() as s:
            return q_provenance.finding_counts(s)

    # -- audit -----------------------------------------------------------------------------------

    def record_audit(self, user: str, role: str, action: str, target: str | None = None,
                     detail: dict | None = None) -> datetime:
        """Log a change made through the REST API (who, role, what, on what); returns its time (naive UTC)."""
        at = datetime.now(UTC).replace(tzinfo=None)
        with self.sessions.begin() as s:
            q_provenance.record_audit(s, at, user, role, action, target, detail)
        return at

    def audit(self, limit: int = 100, *, offset: int = 0, user: str | None = None,
              action: str | None = None) -> Records:
        """The changes made through the REST API, newest first (of ``user``, of ``action``)."""
        with self.sessions() as s:
            return q_provenance.audit(s, limit, offset=offset, user=user, action=action)

    def audit_summary(self, *, user: str | None = None, action: str | None = None) -> dict:
        """{"total": events with these filters, "users": every user in the log, "actions": every action}."""
        with self.sessions() as s:
            return q_provenance.audit_summary(s, user=user, action=action)

    # -- exports ---------------------------------------------------------------------------------

    def export(self, kind: str, fmt: str, output: str, *, source: Sources = None, actor: str | None = None,
               audience: str | None = None, language: str | None = None, since: Bound = None,
               until: Bound = None, filters: Filters | None = None, csv_formulas: bool = False) -> int:
        """Write one record type (``RECORD_TYPES``) as CSV, JSONL or Parquet; returns the row count.
        Quotes and speakers are extracted first (incrementally) so the export is complete. CSV cells
        that a spreadsheet would run as a formula are neutralised unless ``csv_formulas``."""
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                       until=until)
        if kind not in RECORD_TYPES:
            raise WorkspaceError(f"unknown record type '{kind}' ({', '.join(RECORD_TYPES)})")
        if kind in ("quotes", "speakers"):
            self.analyze(["quotes"])
        records = {
            "documents": lambda: self.documents(with_text=True, filters=f),
            "sentences": lambda: self.sentences(filters=f),
            "sources": self.sources,
            "quotes": lambda: self.quotes(filters=f),
            "speakers": lambda: self.speakers(filters=f),
            "entities": self.entities,
            "coordination": self.coordination,
            "narratives": lambda: self.narratives(include_dismissed=True),
            "matches": lambda: self.matches(filters=f),
            "contradictions": self.contradictions,
            "reviews": self.reviews,
            "translations": self.translations,
        }[kind]()
        return export_records(records, fmt, output, csv_formulas=csv_formulas)

    def export_graph(self, graph: str, fmt: str, output: str, *, source: Sources = None, actor: str | None = None,
                     audience: str | None = None, language: str | None = None, since: Bound = None,
                     until: Bound = None, filters: Filters | None = None) -> tuple[int, int]:
        """Write the ``citation`` (speaker → outlet), ``citation-documents``, ``coordination`` (outlet
        network) or ``coordination-spread`` (first publisher → followers, timed) graph as GEXF,
        GraphML or a CSV edge list. Returns (nodes, edges). GEXF carries start/end times where the
        graph has them, for Gephi's timeline."""
        f = self._scope(filters, source=source, actor=actor, audience=audience, language=language, since=since,
                       until=until)
        if graph in ("coordination", "coordination-spread"):
            g = self.coordination_graph(directed=graph == "coordination-spread")
        elif graph in ("citation", "citation-documents"):
            self.analyze(["quotes"])
            g = self.citation_graph(documents=graph == "citation-documents", filters=f)
        else:
            raise WorkspaceError(f"unknown graph '{graph}' (citation, citation-documents, coordination, "
                                 "coordination-spread)")
        return write_graph(g, fmt, output)

    # -- reads for the serve/report faces --------------------------------------------------------

    def actors(self) -> dict[str, dict]:
        """Registered actors by key: ``{"name", "kind", "country", "description"}`` (STIX identities)."""
        with self.sessions() as s:
            return q_record.actors(s)
