"""The REST API: a thin JSON layer over narratrace.Workspace, mounted under /api.

Endpoints are plain ``def``: Workspace calls are synchronous SQLite work, which FastAPI runs in
its thread pool (the SQLAlchemy pool gives each thread its own connection). Responses are JSON
only: document text is hostile and is never turned into HTML here (the dashboard escapes it).

Errors: a Workspace error is a ``NarratraceError``; the one handler in serve/app.py answers it
with its class's ``status`` and its own message in ``detail`` (nothing here picks a status).
Filters: every read that narrows documents takes the same query parameters, turned into one
``Filters`` per request by ``request_filters`` (so ``until=2026-03-01`` keeps the whole day, as
in the CLI and the Python API)."""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from narratrace.errors import InvalidInput, NarratraceError, NotFound, TooLarge
from narratrace.filters import Filters
from narratrace.ingest.files import read_path
from narratrace.ingest.items import DEFAULT_MAX_BYTES, Problem, RawItem
from narratrace.records import (
    AuditInfo,
    ContradictionInfo,
    CoordinationInfo,
    DocumentInfo,
    EntityInfo,
    EntityMentions,
    MatchInfo,
    NarrativeInfo,
    PrevalenceRow,
    PrevalenceTotal,
    QuoteInfo,
    ReviewInfo,
    SearchHit,
    SentenceHit,
    SentenceRecord,
    SourceInfo,
    SpeakerInfo,
    SpreadStep,
    TranslationInfo,
)
from narratrace.serve.auth import User, current_user, require_analyst
from narratrace.serve.cache import ReadCache
from narratrace.serve.schemas import (
    AnalyzeIn,
    AnalyzeResult,
    DocumentDetail,
    ErrorOut,
    ImportResult,
    IngestResult,
    ReviewIn,
    TranslationIn,
)
from narratrace.workspace import Workspace

MAX_LIMIT = 1000  # one page; larger reads go through exports (`narratrace export`) or the Python API
MAX_UPLOAD_FILES = 200
MAX_ID = 2**62  # SQLite integers are 64-bit: a larger id is not "not found" but an overflow
MAX_REGISTRY_BYTES = 5 * 1024 * 1024

_ERR = {"model": ErrorOut}
router = APIRouter(dependencies=[Depends(current_user)],
                   responses={400: {**_ERR, "description": "Bad input (a parameter, a body, a file): the message says "
                                                           "which and what to do"},
                              401: {**_ERR, "description": "No valid token"},
                              403: {**_ERR, "description": "Role or CSRF header missing"},
                              404: {**_ERR, "description": "No such document, narrative or entity"}})

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"at most {MAX_LIMIT}")]
Filter = Annotated[str | None, Query(max_length=256)]
_BOUND = ("inclusive; YYYY-MM-DD is that whole day in UTC{}, or an ISO 8601 timestamp "
          "(UTC when it has no zone)")
Since = Annotated[str | None, Query(max_length=64, description="published at or after: " + _BOUND.format(
    " (from 00:00)"), examples=["2026-03-01"])]
Until = Annotated[str | None, Query(max_length=64, description="published at or before: " + _BOUND.format(
    " (through 23:59:59.999999)"), examples=["2026-03-01"])]


def ws_of(request: Request) -> Workspace:
    return request.app.state.workspace


WS = Annotated[Workspace, Depends(ws_of)]


def request_filters(source: Annotated[str | None, Query(max_length=256, description="a source key")] = None,
                    actor: Annotated[str | None, Query(max_length=256, description="sources owned by this actor "
                                                                                   "key")] = None,
                    audience: Annotated[str | None, Query(max_length=256, description="domestic, foreign, "
                                                                                      "…")] = None,
                    language: Annotated[str | None, Query(max_length=256, description="en, fa, …")] = None,
                    since: Since = None, until: Until = None) -> Filters:
    """The request's one ``Filters`` (``Filters.of``: a bad date is a 400 naming the parameter)."""
    return Filters.of(source=source, actor=actor, audience=audience, language=language, since=since, until=until)


Scope = Annotated[Filters, Depends(request_filters)]


def _plain(x: Any) -> Any:
    """JSON-ready data (the audit log's detail; a record merged into a dict). Stored times are naive UTC: they leave as
    RFC 3339 with 'Z', the spec's date-time (Records.as_dict() writes them without a zone, which
    no client can place)."""
    if x is None or isinstance(x, (str, int, float)):  # the leaves: most calls, so first
        return x
    if isinstance(x, datetime):
        return x.isoformat() + "Z" if x.tzinfo is None else x.isoformat()
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if dataclasses.is_dataclass(x):
        return {f.name: _plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, BaseModel):
        return _plain(x.model_dump())
    return x


def _model(x: Any) -> Any:
    if isinstance(x, BaseModel):
        return x.model_dump()
    raise TypeError(f"{type(x).__name__} is not JSON")


# orjson writes dataclasses, lists and naive-UTC datetimes ("…Z", as _plain does) in C: walking
# the records in Python and then json.dumps cost ~6 ms of a 50-row listing's ~10 (cProfile, demo).
_ORJSON = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_model, option=_ORJSON)


def _json(x: Any) -> JSONResponse:
    # Returned as a Response, the body skips FastAPI's re-validation against response_model (which
    # still documents it); test_api's schemathesis run checks that the two agree.
    return Json(x)


def _read(request: Request, ws: Workspace, make: Callable[[], Any]) -> Response:
    """The answer to a read, from the read cache while the store's revision is unchanged (serve/cache.py)."""
    cache: ReadCache = request.app.state.read_cache
    revision = ws.revision() if cache.enabled else None
    if revision is None:  # turned off, or a store without a revision counter: nothing is cached
        return _json(make())
    key = request.url.path + "?" + request.url.query
    body = cache.get(key, revision)
    if body is None:
        body = Json(make()).body
        cache.put(key, revision, body)
    return Response(body, media_type="application/json")


def _audit(ws: Workspace, user: User, action: str, target: str | None, detail: dict | None) -> datetime:
    return ws.record_audit(user.name, user.role, action, target, detail)


# -- the record -------------------------------------------------------------------------------

@router.get("/sources", response_model=list[SourceInfo], summary="Registered outlets with their document counts")
def sources(request: Request, ws: WS):
    return _read(request, ws, lambda: ws.sources())


@router.get("/documents", response_model=list[DocumentInfo], summary="Documents, oldest first (no text)")
def documents(request: Request, ws: WS, filters: Scope, limit: Limit = 100,
              offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0):
    return _read(request, ws, lambda: ws.documents(limit=limit, offset=offset, filters=filters))


@router.get("/documents/{doc_id}", response_model=DocumentDetail,
            summary="One document: clean text, sentences and spans to highlight (quotes, mentions, matches)")
def document(ws: WS, doc_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]):
    info = ws.document(doc_id)
    return _json({**_plain(info), "spans": ws.document_spans(doc_id)})


@router.get("/sentences", response_model=list[SentenceRecord], summary="Sentences with their spans")
def sentences(request: Request, ws: WS, filters: Scope, limit: Limit = 100):
    return _read(request, ws, lambda: ws.sentences(limit=limit, filters=filters))


@router.get("/search", response_model=list[SearchHit] | list[SentenceHit],
            responses={503: {**_ERR, "description": "semantic=1 needs the sentence encoder, which is missing"}},
            summary="Full-text search (BM25), or with semantic=1 sentences closest in meaning, any language")
def search(request: Request, ws: WS, q: Annotated[str, Query(min_length=1, max_length=1000)], filters: Scope,
           semantic: bool = False, limit: Annotated[int, Query(ge=1, le=200)] = 20):
    if semantic:  # the Workspace runs one model-backed read at a time
        return _json(ws.semantic_search(q, limit=limit, filters=filters))
    return _read(request, ws, lambda: ws.search(q, limit=limit, filters=filters))


@router.get("/stats", response_model=dict[str, Any], summary="What the workspace holds")
def stats(request: Request, ws: WS):
    return _read(request, ws, lambda: ws.stats())


# -- narratives -----------------------------------------------------------------------------------

@router.get("/narratives", response_model=list[NarrativeInfo], summary="Narratives with match counts")
def narratives(request: Request, ws: WS, include_dismissed: bool = False):
    return _read(request, ws, lambda: ws.narratives(include_dismissed=include_dismissed))


@router.get("/narratives/{key}/matches", response_model=list[MatchInfo],
            summary="Sentences matched to a narrative, with stance, scores and review")
def narrative_matches(request: Request, ws: WS, key: str, filters: Scope,
                      stance: Annotated[str | None, Query(pattern="^(asserts|denies|neutral)$")] = None,
                      limit: Limit = 200):
    ws.narrative_exists(key)
    return _read(request, ws, lambda: ws.matches(key, stance=stance, limit=limit, filters=filters))


@router.get("/narratives/{key}/prevalence", response_model=list[PrevalenceRow],
            summary="Documents carrying a narrative per period and group (period null: undated, not placed in time)")
def narrative_prevalence(request: Request, ws: WS, key: str, filters: Scope,
                         period: Annotated[str, Query(pattern="^(day|week|month)$")] = "day",
                         by: Annotated[str, Query(max_length=32)] = "audience",
                         stance: Annotated[str, Query(pattern="^(asserts|denies|neutral|any)$")] = "asserts",
                         normalise: Annotated[bool, Query(description=(
                             "also each group's volume in the period (all its documents) and the share "
                             "carrying the narrative"))] = False):
    ws.narrative_exists(key)
    return _read(request, ws, lambda: ws.prevalence(period=period, by=by, stance=stance, narrative=key, normalise=normalise,
                               filters=filters))


@router.get("/narratives/{key}/prevalence/totals", response_model=list[PrevalenceTotal],
            summary="Documents carrying a narrative over all periods, per group: dated, undated and both")
def narrative_prevalence_totals(request: Request, ws: WS, key: str, filters: Scope,
                                by: Annotated[str, Query(max_length=32)] = "audience",
                                stance: Annotated[str, Query(pattern="^(asserts|denies|neutral|any)$")] = "asserts",
                                normalise: Annotated[bool, Query(description=(
                                    "also each group's volume over all periods and the share"))] = False):
    ws.narrative_exists(key)
    return _read(request, ws, lambda: ws.prevalence_totals(by=by, stance=stance, narrative=key, normalise=normalise,
                                                           filters=filters))


@router.get("/narratives/{key}/spread", response_model=list[SpreadStep],
            summary="Where a narrative appeared first (among dated statements), then each outlet in the "
                    "order it carried it; outlets with only undated statements last (first null)")
def narrative_spread(request: Request, ws: WS, key: str, filters: Scope):
    return _read(request, ws, lambda: ws.narrative_spread(key, filters=filters))


Review = Annotated[str | None, Query(pattern="^(unreviewed|hide-rejected|confirmed|rejected)$")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Queue = Annotated[bool, Query(description="the review queue's order: unreviewed first, then the strongest")]
Probability = Annotated[float | None, Query(ge=0, le=1)]


@router.get("/matches", response_model=list[MatchInfo], summary="Narrative matches of every narrative")
def matches(request: Request, ws: WS, filters: Scope, narrative: Filter = None,
            stance: Annotated[str | None, Query(pattern="^(asserts|denies|neutral)$")] = None, limit: Limit = 200,
            offset: Offset = 0, review: Review = None, queue: Queue = False,
            holder_actor: Annotated[str | None, Query(max_length=256, description="the claim holder's actor key")] = None,
            holder_kind: Annotated[str | None, Query(pattern="^(outlet|speaker|reported)$")] = None,
            min_p: Annotated[float | None, Query(ge=0, le=1, description="p_related at least this")] = None):
    return _read(request, ws, lambda: ws.matches(
        narrative, stance=stance, limit=limit, filters=filters, offset=offset, queue=queue, review=review,
        holder_actor=holder_actor, holder_kind=holder_kind, min_p=min_p))


@router.get("/contradictions", response_model=list[ContradictionInfo],
            summary="Statements of one actor that contradict each other (leads, not verdicts); outlet, audience, "
                    "language and date filters keep a pair when either side passes")
def contradictions(request: Request, ws: WS, actor: Filter = None, cross_audience: bool | None = None, limit: Limit = 100,
                   top: Annotated[int | None, Query(ge=1, le=1000, description="At most this many per actor")] = None,
                   review: Review = None, narrative: Filter = None, min_score: Probability = None,
                   source: Annotated[str | None, Query(max_length=256, description="a source key")] = None,
                   audience: Filter = None, language: Filter = None, since: Since = None, until: Until = None,
                   offset: Offset = 0, queue: Queue = False):
    filters = Filters.of(source=source, audience=audience, language=language, since=since, until=until)
    return _read(request, ws, lambda: ws.contradictions(
        actor=actor, cross_audience=cross_audience, limit=limit, top=top, review=review, narrative=narrative,
        min_score=min_score, filters=filters, offset=offset, queue=queue))


# -- provenance ----------------------------------------------------------------------------------

@router.get("/quotes", response_model=list[QuoteInfo], summary="Quotes with speaker, cue and spans")
def quotes(request: Request, ws: WS, filters: Scope, speaker: Filter = None,
           document: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None, kind: Filter = None, limit: Limit = 200):
    return _read(request, ws, lambda: ws.quotes(speaker=speaker, document=document, kind=kind, limit=limit, filters=filters))


@router.get("/speakers", response_model=list[SpeakerInfo],
            summary="Who is quoted, by how many outlets (recycled voices first)")
def speakers(request: Request, ws: WS, filters: Scope, min_outlets: Annotated[int, Query(ge=1, le=10_000)] = 1,
             limit: Limit = 200):
    return _read(request, ws, lambda: ws.speakers(min_outlets=min_outlets, limit=limit, filters=filters))


@router.get("/coordination", response_model=list[CoordinationInfo],
            summary="Near-identical or translated documents published by different outlets within a window")
def coordination(request: Request, ws: WS, method: Annotated[str | None, Query(pattern="^(near-duplicate|translation)$")] = None,
                 source: Filter = None, limit: Limit = 100):
    return _read(request, ws, lambda: ws.coordination(method=method, source=source, limit=limit))


@router.get("/entities", response_model=list[EntityInfo], summary="The analyst's entities with mention counts")
def entities(request: Request, ws: WS):
    return _read(request, ws, lambda: ws.entities())


@router.get("/entities/{key}/mentions", response_model=EntityMentions,
            summary="Who quotes and names an entity: counts by outlet and month, then each place with its span")
def entity_mentions(request: Request, ws: WS, key: Annotated[str, PathParam(max_length=128)], filters: Scope,
                    kind: Annotated[str | None, Query(pattern="^(quote|mention)$",
                                                      description="quote: the entity speaks; mention: it is "
                                                                  "named")] = None,
                    limit: Limit = 200):
    return _read(request, ws, lambda: ws.entity_mentions(key, kind=kind, limit=limit, filters=filters))


# -- writes (analyst) ------------------------------------------------------------------------------

@router.post("/reviews", response_model=ReviewInfo, responses={413: _ERR},
             summary="Confirm or reject a match or a contradiction, with an optional note and tags")
def post_review(ws: WS, body: ReviewIn, user: Annotated[User, Depends(require_analyst)]):
    try:
        review = ws.review(body.kind, body.sentence_id, body.verdict, narrative=body.narrative,
                           other_sentence_id=body.other_sentence_id, stance=body.stance, note=body.note,
                           reviewer=user.name, tags=body.tags)
    except NotFound as exc:  # /api/reviews exists; a sentence or narrative the body names does not
        raise InvalidInput(str(exc)) from exc
    audit_review(ws, user, review)
    return _json(review)


def audit_review(ws: Workspace, user: User, review: ReviewInfo) -> None:
    """Every review in the audit log too (the activity view reads it), beside its own reviewer/time."""
    target = (f"contradiction {review.sentence_id}/{review.other_sentence_id}" if review.kind == "contradiction"
              else f"match {review.sentence_id} × {review.narrative}")
    detail = {"verdict": review.verdict, **({"stance": review.stance} if review.stance else {}),
              **({"tags": review.tags} if review.tags else {}), **({"note": True} if review.note else {})}
    _audit(ws, user, "review", target, detail)


@router.get("/translations", response_model=list[TranslationInfo],
            summary="The analysts' translations of sentences and quotes, with the original span")
def translations(ws: WS, language: Annotated[str | None, Query(max_length=16)] = None):
    return _json(ws.translations(language=language))


@router.post("/translations", response_model=TranslationInfo, responses={413: _ERR},
             summary="Store (or replace) an analyst's translation of a sentence or a quote")
def post_translation(ws: WS, body: TranslationIn, user: Annotated[User, Depends(require_analyst)]):
    try:
        t = ws.translate(body.text, sentence_id=body.sentence_id, quote_id=body.quote_id, language=body.language,
                         note=body.note, translator=user.name)
    except NotFound as exc:  # /api/translations exists; the sentence or quote the body names does not
        raise InvalidInput(str(exc)) from exc
    _audit(ws, user, "translate", f"sentence {t.sentence_id} [{t.start}:{t.end}]",
           {"document_id": t.document_id, "language": t.language, "chars": len(t.text)})
    return _json(t)


async def _registry_body(request: Request, file: UploadFile | None) -> tuple[bytes, str]:
    """A YAML/CSV registry from a multipart upload (field ``file``) or the raw request body."""
    if file is not None:
        data, name = await file.read(MAX_REGISTRY_BYTES + 1), Path(file.filename or "upload.yaml").name
    else:  # streamed, and no further than the cap (app.BodyGuard caps every body at a larger size)
        chunks, size, name = [], 0, "body.yaml"
        async for chunk in request.stream():
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_REGISTRY_BYTES:
                break
        data = b"".join(chunks)
    if not data.strip():
        raise InvalidInput("empty body: send YAML (Content-Type: application/yaml) or upload a file as 'file'")
    if len(data) > MAX_REGISTRY_BYTES:
        raise TooLarge(f"{name}: larger than {MAX_REGISTRY_BYTES // 1024 // 1024} MB")
    return data, name


def _import(ws: Workspace, user: User, data: bytes, name: str, action: str, fn) -> ImportResult:
    suffix = ".csv" if name.lower().endswith(".csv") else ".yaml"
    with tempfile.TemporaryDirectory(prefix="narratrace-upload-") as tmp:
        path = Path(tmp) / ("upload" + suffix)
        path.write_bytes(data)
        try:
            counts = fn(path)
        except NarratraceError as exc:  # the message names the temporary file: name the upload instead
            raise HTTPException(exc.status, f"{name}: " + str(exc).replace(str(path), name)) from exc
    at = _audit(ws, user, action, name, {"counts": counts, "bytes": len(data)})
    return _json(ImportResult(counts=counts, by=user.name, at=at))


_UPLOAD_DOC = {"requestBody": {"content": {
    "application/yaml": {"schema": {"type": "string"}},
    "multipart/form-data": {"schema": {"type": "object",
                                       "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


@router.post("/narratives", response_model=ImportResult, openapi_extra=_UPLOAD_DOC, responses={413: _ERR},
             summary="Import or update narratives (YAML body, or a file uploaded as 'file')")
async def post_narratives(request: Request, user: Annotated[User, Depends(require_analyst)], ws: WS,
                          file: Annotated[UploadFile | None, File()] = None):
    data, name = await _registry_body(request, file)
    return await run_in_threadpool(_import, ws, user, data, name, "narratives.import", ws.import_narratives)


@router.post("/sources", response_model=ImportResult, openapi_extra=_UPLOAD_DOC, responses={413: _ERR},
             summary="Import or update actors and sources (YAML or CSV body, or a file uploaded as 'file')")
async def post_sources(request: Request, user: Annotated[User, Depends(require_analyst)], ws: WS,
                       file: Annotated[UploadFile | None, File()] = None):
    data, name = await _registry_body(request, file)
    return await run_in_threadpool(_import, ws, user, data, name, "sources.import", ws.import_sources)


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(name: str | None, i: int) -> str:
    base = _SAFE_NAME.sub("_", Path(name or "").name).strip("._") or f"upload-{i}"
    return base[-120:]


@router.post("/ingest", response_model=IngestResult, responses={413: _ERR},
             summary="Upload files (multipart 'files') and ingest them")
def post_ingest(ws: WS, user: Annotated[User, Depends(require_analyst)],
                files: Annotated[list[UploadFile], File(description="HTML, text, Markdown, PDF, JSONL, CSV, WARC …")],
                source: Annotated[str | None, Form(max_length=128)] = None):
    if not files:
        raise InvalidInput("no files: upload them as multipart field 'files'")
    if len(files) > MAX_UPLOAD_FILES:
        raise TooLarge(f"{len(files)} files in one upload: at most {MAX_UPLOAD_FILES}")
    names = [_safe_name(f.filename, i) for i, f in enumerate(files)]
    with tempfile.TemporaryDirectory(prefix="narratrace-ingest-") as tmp:
        paths: list[Path] = []
        problems: list[Problem] = []
        for i, (f, name) in enumerate(zip(files, names)):
            label = f"upload:{name}"
            data = f.file.read(DEFAULT_MAX_BYTES + 1)
            if len(data) > DEFAULT_MAX_BYTES:
                problems.append(Problem(label, "skipped", f"larger than {DEFAULT_MAX_BYTES // 1024 // 1024} MB"))
                continue
            if not data.strip():
                problems.append(Problem(label, "skipped", "empty file (0 bytes or only whitespace)"))
                continue
            d = Path(tmp) / str(i)  # one folder per file: two uploads with one name do not collide
            d.mkdir()
            (d / name).write_bytes(data)
            paths.append(d / name)
        report = ws.ingest_items(_items(paths, Path(tmp), problems), source=source)
    out = report.as_dict()
    detail = {k: out[k] for k in ("added", "exact_duplicates", "near_duplicates", "already_present")}
    detail["problems"] = len(report.skipped) + len(report.failed)
    _audit(ws, user, "ingest", ", ".join(names)[:2000], detail)
    result = IngestResult(**out, document_ids=report.document_ids, by=user.name)
    if report.added == 0 and report.already_present == 0 and (report.skipped or report.failed):
        why = "; ".join(f"{p.origin}: {p.reason}" for p in report.failed + report.skipped)
        raise InvalidInput(f"nothing ingested: {why[:4000]}")
    return _json(result)


def _items(paths: list[Path], root: Path, problems: list[Problem]):
    """Read uploads as the CLI does, but name them 'upload:<name>' (never the temporary path)."""
    yield from problems
    for p in paths:
        prefix = str(p.parent) + "/"
        for item in read_path(p):
            if isinstance(item, RawItem):
                item.origin = "upload:" + item.origin.removeprefix(prefix)
                yield item
            else:
                yield Problem("upload:" + item.origin.removeprefix(prefix), item.status,
                              item.reason.replace(str(root), "upload"))


@router.get("/stages", response_model=list[dict[str, Any]],
            summary="The analysis stages in pipeline order: requires, writes, version, last run here")
def stages(ws: WS):
    return _json(ws.stages())


@router.post("/analyze", response_model=AnalyzeResult, responses={409: _ERR, 503: _ERR},
             summary="Run the analysis (or the named stages) in pipeline order, as `narratrace analyze` does")
def post_analyze(ws: WS, body: AnalyzeIn, user: Annotated[User, Depends(require_analyst)]):
    # Synchronous: the Workspace runs one analysis at a time (its models lock); a long run holds this
    # request, which is what a script that uploads and then analyses wants.
    report = ws.analyze(body.stages, options=body.options or None)
    at = _audit(ws, user, "analyze", ",".join(report), {name: _plain(r) for name, r in report.items()})
    return _json(AnalyzeResult(stages=report, by=user.name, at=at))


@router.get("/audit", response_model=list[AuditInfo],
            summary="Who changed the record through the API, newest first")
def audit(ws: WS, limit: Limit = 100, offset: Offset = 0, user: Filter = None, action: Filter = None):
    return _json(ws.audit(limit, offset=offset, user=user, action=action))
