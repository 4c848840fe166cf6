"""Request and response shapes of the REST API that are not already record dataclasses
(``narratrace.records``: those are used as response models directly, so the API and the Python
API cannot drift)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from narratrace import pipeline
from narratrace.records import SentenceInfo


class ErrorOut(BaseModel):
    detail: str


class Span(BaseModel):
    """A character span of Document.text to highlight: ``text[start:end]`` is ``text`` exactly.
    Kinds: quote (content), cue, speaker (as written), speaker_name (the named mention it resolved
    to), carrier (who relays the quote: "Agency quoted X as saying"), mention (a named entity),
    match (a sentence matched to a narrative)."""

    kind: Literal["quote", "cue", "speaker", "speaker_name", "carrier", "mention", "match"]
    start: int
    end: int
    text: str
    quote_id: int | None = None
    speaker: str | None = None
    label: str | None = None
    entity: str | None = None
    sentence_id: int | None = None
    narrative: str | None = None
    stance: str | None = None
    review: str | None = None


class DocumentDetail(BaseModel):
    id: int
    title: str | None
    url: str | None
    canonical_url: str | None
    author: str | None
    published_at: datetime | None
    language: str | None
    source: str | None
    actor: str | None
    audience: str | None
    origin: str
    content_type: str
    duplicate_of: int | None
    duplicate_kind: str | None
    duplicate_score: float | None
    raw_hash: str
    clean_hash: str
    ingested_at: datetime
    chars: int
    text: str
    sentences: list[SentenceInfo]
    spans: list[Span]


class ReviewIn(BaseModel):
    kind: Literal["match", "contradiction"]
    sentence_id: int = Field(ge=1, le=2**62)
    narrative: str | None = Field(default=None, max_length=128)
    other_sentence_id: int | None = Field(default=None, ge=1, le=2**62)
    verdict: Literal["confirmed", "rejected"]
    stance: Literal["asserts", "denies", "neutral"] | None = None
    # The store refuses a note over 2,000 characters or more than 10 tags of 40 (413, naming the
    # limit); these bounds only cap the request body. None keeps the review's note/tags; "" / [] clear.
    note: str | None = Field(default=None, max_length=100_000)
    tags: list[Annotated[str, Field(max_length=1_000)]] | None = Field(default=None, max_length=100)


class TranslationIn(BaseModel):
    """An analyst's rendering of a sentence or of a quote's span (exactly one of the two ids). The
    store refuses a text over its limit (413, with the limit in the message); this bound only caps
    the request body."""

    sentence_id: int | None = Field(default=None, ge=1, le=2**62)
    quote_id: int | None = Field(default=None, ge=1, le=2**62)
    text: str = Field(min_length=1, max_length=100_000)
    language: str = Field(default="en", min_length=1, max_length=16, pattern="^[A-Za-z0-9-]+$")
    note: str | None = Field(default=None, max_length=100_000)


StageName = Literal[pipeline.ORDER]  # the declared stages, so the spec lists them (pipeline.py)


class AnalyzeIn(BaseModel):
    """Which pipeline stages to run (null: the default analysis) and their options by stage."""

    stages: list[StageName] | None = Field(default=None, max_length=len(pipeline.ORDER))
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)


class AnalyzeResult(BaseModel):
    """What each stage that ran reported (counts), by stage name, in the order they ran."""

    stages: dict[str, dict[str, Any]]
    by: str
    at: datetime


class ImportResult(BaseModel):
    counts: dict[str, int]
    by: str
    at: datetime


class IngestProblem(BaseModel):
    input: str
    reason: str


class IngestResult(BaseModel):
    added: int
    exact_duplicates: int
    near_duplicates: int
    already_present: int
    skipped: list[IngestProblem]
    failed: list[IngestProblem]
    document_ids: list[int]
    by: str
