"""The catalogue of records: every result type the Workspace hands to a face (CLI, REST API,
dashboard, reports, notebooks), in one module, in the order of the flow. Each is a plain
dataclass of JSON-ready values with exact character spans into ``Document.text`` where it
points at text; a list of them is a ``Records``, which also turns into a pandas DataFrame.

A new record type goes here (docs/architecture.md); stages and the store build them, faces only
read them. This module imports nothing from narratrace, so anything can import it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime


class Records(list):
    """A list of result dataclasses that also turns into a pandas DataFrame. ``of``: the record
    type, so that an empty result still knows its columns (taken from the first item otherwise)."""

    def __init__(self, items=(), of: type | None = None):
        super().__init__(items)
        self.of = of or (type(self[0]) if self else None)

    def columns(self) -> list[str]:
        return [f.name for f in fields(self.of)] if self.of else []

    def df(self):
        """A pandas DataFrame with typed columns: datetimes as timestamps, integers that may be
        missing as nullable integers, flags as nullable booleans — also when the result is empty.
        (pandas is imported here: it costs ~100 MB of RSS at start-up.)"""
        import pandas as pd  # lazy: pandas costs ~90 MB RSS and +0.3 s at CLI start (measured)

        df = pd.DataFrame([asdict(r) for r in self], columns=self.columns() or None)
        for f in fields(self.of) if self.of else ():
            base = str(f.type).split("|")[0].strip()  # annotations are strings here ("int | None")
            if base == "datetime":
                df[f.name] = pd.to_datetime(df[f.name])
            elif base == "int":
                df[f.name] = df[f.name].astype("Int64")
            elif base == "bool":
                df[f.name] = df[f.name].astype("boolean")
            elif base == "float":
                df[f.name] = df[f.name].astype("Float64")
            elif base == "str" and df[f.name].dtype == object:
                df[f.name] = df[f.name].astype("string")
        return df

    def dicts(self) -> list[dict]:
        return [r.as_dict() for r in self]


@dataclass
class Record:
    def as_dict(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, datetime):
                v = v.isoformat()
            elif isinstance(v, _Record):
                v = v.as_dict()
            elif isinstance(v, list):
                v = [x.as_dict() if isinstance(x, _Record) else x for x in v]
            out[f.name] = v
        return out


_Record = Record  # the name the detect/ modules grew up with


# -- the record: sources, documents, sentences, search -----------------------------------------------


@dataclass
class SourceInfo(Record):
    key: str
    name: str
    actor: str | None
    audience: str | None
    country: str | None
    language: str | None
    kind: str | None
    domains: list[str]
    feeds: list[str]
    channels: list[str]
    documents: int


@dataclass
class SentenceInfo(Record):
    id: int
    idx: int
    start: int
    end: int
    language: str | None
    text: str


@dataclass
class DocumentInfo(Record):
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
    text: str | None = None
    sentences: list[SentenceInfo] | None = None
    date_precision: str | None = None  # of published_at: minute | day | month | year
    date_source: str | None = None  # where it was read: given | record | meta | json-ld | time | url | header …


@dataclass
class SentenceRecord(Record):
    id: int
    document_id: int
    idx: int
    start: int
    end: int
    language: str | None
    text: str


@dataclass
class SearchHit(Record):
    document_id: int
    rank: float
    snippet: str
    title: str | None
    url: str | None
    published_at: datetime | None
    language: str | None
    source: str | None
    actor: str | None
    audience: str | None


@dataclass
class SentenceHit(Record):
    sentence_id: int
    document_id: int
    score: float
    text: str
    start: int
    end: int
    language: str | None
    title: str | None
    url: str | None
    published_at: datetime | None
    source: str | None
    actor: str | None
    audience: str | None


# -- narratives: registry, matches, prevalence -------------------------------------------------------


@dataclass
class NarrativeInfo(Record):
    key: str
    name: str
    description: str | None
    status: str
    origin: str
    assertions: list[str]
    counters: list[str]
    entities: list[str]
    contradicts: list[str]
    disarm: list[str]
    matches: int
    asserts: int
    denies: int


@dataclass
class MatchInfo(Record):
    narrative: str
    sentence_id: int
    document_id: int
    text: str
    start: int
    end: int
    stance: str
    stance_score: float
    similarity: float
    p_entail: float | None
    p_contradict: float | None
    published_at: datetime | None
    source: str | None
    actor: str | None
    audience: str | None
    language: str | None
    url: str | None
    review: str | None
    reviewed_stance: str | None
    p_related: float | None = None
    holder_kind: str = "outlet"   # outlet | speaker | reported (enrich/holder.py)
    holder: str | None = None     # entity key or the holder as written
    holder_actor: str | None = None
    claim_start: int | None = None  # the claim's span in the document (inside the sentence)
    claim_end: int | None = None
    writer_stance: str | None = None


@dataclass
class PrevalenceRow(Record):
    narrative: str
    period: str | None  # ISO date of the period's first day; None: undated documents, not placed in time
    group: str
    documents: int
    # normalised prevalence (``prevalence(normalise=True)``): every document of this group in this
    # period, matched or not (undated: the group's undated documents), and documents / volume
    volume: int | None = None
    share: float | None = None


@dataclass
class PrevalenceTotal(Record):
    """One narrative and group over all periods: every document counted, the undated ones too."""

    narrative: str
    group: str
    documents: int  # dated + undated
    dated: int
    undated: int  # no publication date: counted here, not placed in any period
    volume: int | None = None  # normalise=True: every document of this group, dated or not
    share: float | None = None  # documents / volume


@dataclass
class ReviewInfo(Record):
    """An analyst's verdict on a match (sentence × narrative) or a contradiction (sentence pair)."""

    id: int
    kind: str
    sentence_id: int
    other_sentence_id: int | None
    narrative: str | None
    verdict: str
    stance: str | None
    note: str | None
    reviewer: str | None
    at: datetime
    tags: list[str] = field(default_factory=list)


@dataclass
class TranslationInfo(Record):
    """An analyst's rendering of a stored span (a sentence or a quote) in ``language``; ``original``
    is the span's text, ``document.text[start:end]``."""

    id: int
    sentence_id: int
    document_id: int
    start: int
    end: int
    language: str
    text: str
    original: str
    note: str | None
    translator: str | None
    at: datetime


@dataclass
class GlossInfo(Record):
    """What a matched sentence was read as, in ``language``: the narrative statement it was matched
    to (``matched``), or, where that statement is in another language, the narrative's first
    statement of the same kind in ``language``. A gloss of the sentence's meaning, not a translation."""

    sentence_id: int
    narrative: str
    stance: str
    statement_kind: str  # assertion | counter
    statement: str
    language: str
    matched: bool


# -- contradictions ----------------------------------------------------------------------------------


@dataclass
class ContradictionInfo(Record):
    id: int
    actor: str | None
    kind: str
    score: float
    cross_audience: bool
    cross_language: bool
    p_contradict: float | None
    similarity: float | None
    narrative_a: str | None
    narrative_b: str | None
    a_sentence_id: int
    a_document_id: int
    a_start: int
    a_end: int
    a_text: str
    a_published_at: datetime | None
    a_source: str | None
    a_audience: str | None
    a_language: str | None
    a_url: str | None
    b_sentence_id: int
    b_document_id: int
    b_start: int
    b_end: int
    b_text: str
    b_published_at: datetime | None
    b_source: str | None
    b_audience: str | None
    b_language: str | None
    b_url: str | None
    review: str | None
    folded: int = 0  # other sentence pairs of the same claims in the same two documents


# -- provenance: entities, quotes, speakers, trails, spread ------------------------------------------


@dataclass
class EntityInfo(Record):
    key: str
    name: str
    kind: str
    actor: str | None
    description: str | None
    aliases: list[str]
    mentions: int
    quotes: int


@dataclass
class QuoteInfo(Record):
    id: int
    document_id: int
    text: str
    start: int
    end: int
    kind: str
    speaker: str | None        # the resolved speaker's display name
    speaker_key: str | None
    speaker_as_written: str | None
    resolution: str
    cue: str | None
    reason: str | None
    language: str | None
    published_at: datetime | None
    source: str | None
    audience: str | None
    url: str | None
    carrier: str | None = None  # who relays it, as written ("Agency quoted X as saying"); None: direct


@dataclass
class MentionInfo(Record):
    """One place a document names an entity or quotes it. ``kind``: "quote" (the entity is the
    speaker; ``text`` is the quote's content) or "mention" (the entity is named; ``text`` is the name
    as written). ``text`` is ``Document.text[start:end]`` exactly; ``context`` is the sentence(s) around
    it, starting at ``context_start`` in the document (so ``context[start - context_start:]`` begins
    with ``text``)."""

    kind: str
    entity: str
    document_id: int
    start: int
    end: int
    text: str
    context: str
    context_start: int
    published_at: datetime | None
    source: str | None         # the outlet's key
    outlet: str | None         # the outlet's display name
    audience: str | None
    language: str | None
    url: str | None
    title: str | None
    label: str | None = None   # a quote's kind (direct, indirect, mixed) or a mention's label (PERSON, …)
    quote_id: int | None = None
    speaker_as_written: str | None = None  # a quote's speaker at the quote ("he", "the envoy", the name)
    carrier: str | None = None  # who relays a quote, as written


@dataclass
class MentionCount(Record):
    """How often one entity is quoted and named in one group: an outlet (``group`` its key, ``name``
    its display name; None: documents without a source) or a month (``group`` "YYYY-MM"; None: undated)."""

    group: str | None
    name: str | None
    documents: int
    quotes: int
    mentions: int


@dataclass
class EntityMentions(Record):
    """Who quotes and names an entity, by outlet and by month, then each place (``items``, oldest
    first, undated last, at most the limit asked). Counts cover every match of the filters; documents
    without a date count in the totals and in ``undated``, never in a month."""

    entity: EntityInfo
    filters: dict
    documents: int
    quotes: int
    mentions: int
    undated: int              # documents among ``documents`` without a publication date
    by_outlet: list[MentionCount]
    by_month: list[MentionCount]
    items: list[MentionInfo]
    shown: int                # len(items); fewer than quotes + mentions when the limit cut them


@dataclass
class OutletUse(Record):
    source: str | None
    documents: int
    quotes: int
    first: datetime | None
    own: bool  # the outlet belongs to the actor the speaker speaks for


@dataclass
class SpeakerInfo(Record):
    key: str
    name: str
    entity: str | None
    actor: str | None
    quotes: int
    documents: int
    outlets: int
    other_outlets: int  # outlets not owned by the speaker's own actor: where a voice is "recycled"
    first_seen: datetime | None
    first_document: int | None
    first_source: str | None
    languages: list[str]
    named: bool  # a registry entity, or named in at least one quote (not only "the former envoy")
    by_outlet: list[OutletUse] = field(default_factory=list)


@dataclass
class Carrier(Record):
    quote_id: int
    document_id: int
    source: str | None
    published_at: datetime | None
    language: str | None
    speaker: str | None
    text: str
    similarity: float  # to the first carrier's quote


@dataclass
class QuoteTrail(Record):
    """One quote found in several documents: who carried it first and who repeated it."""
    id: int
    speaker: str | None
    text: str
    first: Carrier
    repeats: list[Carrier]
    documents: int
    outlets: int
    languages: list[str]


@dataclass
class SpreadStep(Record):
    """One outlet in a narrative's spread. ``first`` is its earliest dated statement; an outlet
    whose statements are all undated has ``first`` None and comes after the dated ones (not placed
    in time; ``document_id`` is then its lowest undated document)."""

    source: str | None
    audience: str | None
    language: str | None
    first: datetime | None
    document_id: int
    sentence_id: int
    text: str
    documents: int  # dated + undated
    undated: int = 0  # of ``documents``: no publication date, not placed in time


@dataclass
class SpanInfo(Record):
    """One stored span of a document to highlight: a quote, its cue and speaker, a mention, a
    sentence matched to a narrative. ``text`` is ``Document.text[start:end]``."""

    kind: str
    start: int
    end: int
    text: str
    quote_id: int | None = None
    sentence_id: int | None = None
    speaker: str | None = None
    entity: str | None = None
    narrative: str | None = None
    stance: str | None = None
    review: str | None = None
    label: str | None = None


@dataclass
class AuditInfo(Record):
    """A change made through the REST API: who, in which role, did what to which target."""

    id: int
    at: datetime
    user: str
    role: str
    action: str
    target: str | None
    detail: dict | None


# -- coordinated publication -------------------------------------------------------------------------


@dataclass
class CoordinatedDocument(Record):
    document_id: int
    source: str | None
    published_at: datetime
    similarity: float
    language: str | None
    title: str | None
    url: str | None


@dataclass
class CoordinationInfo(Record):
    id: int
    method: str
    window_seconds: float
    first_document_id: int
    first_source: str | None
    started_at: datetime
    span_seconds: float
    sources: list[str]
    documents: list[CoordinatedDocument]
