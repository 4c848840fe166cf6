"""The record: SQLAlchemy 2 ORM tables shared by every backend.

Portable SQL only. Anything SQLite-specific (FTS5, pragmas) lives in
``narratrace.store.sqlite`` so that the PostgreSQL backend can reuse this schema.
Spans (``Sentence.start``/``end``) are character offsets into ``Document.text``,
the stored clean text: ``document.text[start:end]`` is the sentence, exactly.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Actor(Base):
    """Who speaks through sources: a state, party, company, movement. Pure data."""

    __tablename__ = "actor"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    aliases: Mapped[list[ActorAlias]] = relationship(
        back_populates="actor", cascade="all, delete-orphan", order_by="ActorAlias.id"
    )


class ActorAlias(Base):
    __tablename__ = "actor_alias"
    __table_args__ = (UniqueConstraint("actor_id", "alias"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actor.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(512), index=True)
    actor: Mapped[Actor] = relationship(back_populates="aliases")


class Source(Base):
    """An outlet or channel. Its actor and audience are what cross-audience analysis splits on."""

    __tablename__ = "source"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(512))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("actor.id", ondelete="SET NULL"))
    audience: Mapped[str | None] = mapped_column(String(64))  # domestic | foreign | diaspora | mixed …
    country: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(64))  # state-media | independent | channel …
    actor: Mapped[Actor | None] = relationship()
    locators: Mapped[list[SourceLocator]] = relationship(
        back_populates="source", cascade="all, delete-orphan", order_by="SourceLocator.id"
    )


class SourceLocator(Base):
    """How a document is matched to its source: a web domain or a feed URL."""

    __tablename__ = "source_locator"
    __table_args__ = (UniqueConstraint("kind", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # domain | feed
    value: Mapped[str] = mapped_column(String(2048))
    source: Mapped[Source] = relationship(back_populates="locators")


class Document(Base):
    __tablename__ = "document"
    __table_args__ = (
        Index("ix_document_source_published", "source_id", "published_at"),
        Index("ix_document_published", "published_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"))
    origin: Mapped[str] = mapped_column(Text)  # file path, URL or "file.jsonl#line" it came from
    url: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)  # UTC, naive
    date_precision: Mapped[str | None] = mapped_column(String(8))  # minute | day | month | year
    # where published_at was read: given | record | meta | json-ld | time | url | extractor | header | inferred
    date_source: Mapped[str | None] = mapped_column(String(16))
    dates_version: Mapped[int | None] = mapped_column(Integer)  # clean.dates.VERSION that dated it
    language: Mapped[str | None] = mapped_column(String(16), index=True)
    content_type: Mapped[str] = mapped_column(String(32))  # html | text | markdown | pdf | record …
    text: Mapped[str] = mapped_column(Text)
    raw_hash: Mapped[str] = mapped_column(String(64), unique=True)  # idempotency key
    clean_hash: Mapped[str] = mapped_column(String(64), index=True)
    ingested_at: Mapped[datetime] = mapped_column(DateTime)
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("document.id", ondelete="SET NULL"), index=True
    )
    duplicate_kind: Mapped[str | None] = mapped_column(String(16))  # exact | near
    duplicate_score: Mapped[float | None] = mapped_column(Float)  # estimated Jaccard for near
    meta: Mapped[dict | None] = mapped_column(JSON)
    source: Mapped[Source | None] = relationship()
    sentences: Mapped[list[Sentence]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="Sentence.idx"
    )


class Sentence(Base):
    __tablename__ = "sentence"
    __table_args__ = (UniqueConstraint("document_id", "idx"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(16))
    document: Mapped[Document] = relationship(back_populates="sentences")


class DocumentSignature(Base):
    """MinHash of the clean text, kept so the near-duplicate index is rebuilt, not recomputed."""

    __tablename__ = "document_signature"
    document_id: Mapped[int] = mapped_column(
        ForeignKey("document.id", ondelete="CASCADE"), primary_key=True
    )
    num_perm: Mapped[int] = mapped_column(Integer)
    minhash: Mapped[bytes] = mapped_column(LargeBinary)


class BoilerplateScope(Base):
    """How many documents of one scope (a source, or a web host) the line counts cover."""

    __tablename__ = "boilerplate_scope"
    scope: Mapped[str] = mapped_column(String(512), primary_key=True)
    doc_count: Mapped[int] = mapped_column(Integer, default=0)


class BoilerplateLine(Base):
    """In how many documents of a scope a short line occurred (learned boilerplate)."""

    __tablename__ = "boilerplate_line"
    scope: Mapped[str] = mapped_column(String(512), primary_key=True)
    line_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    doc_count: Mapped[int] = mapped_column(Integer, default=0)


class IngestEvent(Base):
    """Why an input was skipped or failed, so a batch's problems stay inspectable."""

    __tablename__ = "ingest_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    origin: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # skipped | failed
    reason: Mapped[str] = mapped_column(Text)


# -- analysis: embeddings, narratives, matches, contradictions, reviews (issue 3) ------------------


class Embedding(Base):
    """A cached sentence vector, keyed by model and the hash of the normalised text.

    Syndicated news repeats sentences thousands of times: a text is embedded once per model.
    Vectors are float16 (half the bytes; cosine error < 1e-3, measured in bench/analyze.py).
    """

    __tablename__ = "embedding"
    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class VectorIndexState(Base):
    """How far the on-disk vector index of one model has got (sentence ids only grow)."""

    __tablename__ = "vector_index_state"
    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_sentence_id: Mapped[int] = mapped_column(Integer, default=0)
    count: Mapped[int] = mapped_column(Integer, default=0)


class Narrative(Base):
    """A talking point the analyst tracks (or one discovered and not yet promoted). Pure data."""

    __tablename__ = "narrative"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(512))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | candidate | dismissed
    origin: Mapped[str] = mapped_column(String(16), default="registry")  # registry | discovered
    entities: Mapped[list | None] = mapped_column(JSON)
    contradicts: Mapped[list | None] = mapped_column(JSON)  # keys of narratives that deny this one
    disarm: Mapped[list | None] = mapped_column(JSON)  # DISARM technique ids the analyst tagged
    sensitivity: Mapped[float | None] = mapped_column(Float)  # 0..1, None = the calibrated default
    statements: Mapped[list[NarrativeStatement]] = relationship(
        back_populates="narrative", cascade="all, delete-orphan", order_by="NarrativeStatement.id"
    )


class NarrativeStatement(Base):
    """How the narrative sounds (assertion) or how denying it sounds (counter), any language."""

    __tablename__ = "narrative_statement"
    id: Mapped[int] = mapped_column(primary_key=True)
    narrative_id: Mapped[int] = mapped_column(ForeignKey("narrative.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # assertion | counter
    text: Mapped[str] = mapped_column(Text)
    narrative: Mapped[Narrative] = relationship(back_populates="statements")


class NarrativeMatch(Base):
    """A sentence matched to a narrative, with every score that led to its stance."""

    __tablename__ = "narrative_match"
    __table_args__ = (UniqueConstraint("sentence_id", "narrative_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentence.id", ondelete="CASCADE"), index=True)
    narrative_id: Mapped[int] = mapped_column(ForeignKey("narrative.id", ondelete="CASCADE"), index=True)
    similarity: Mapped[float] = mapped_column(Float)  # max cosine to any statement of the narrative
    sim_assertion: Mapped[float] = mapped_column(Float)
    sim_counter: Mapped[float | None] = mapped_column(Float)
    stance: Mapped[str] = mapped_column(String(16))  # asserts | denies | neutral
    stance_score: Mapped[float] = mapped_column(Float)
    p_entail: Mapped[float | None] = mapped_column(Float)  # NLI: sentence ⇒ closest assertion
    p_contradict: Mapped[float | None] = mapped_column(Float)
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("narrative_statement.id", ondelete="SET NULL"))
    embed_model: Mapped[str] = mapped_column(String(128))
    nli_model: Mapped[str | None] = mapped_column(String(128))
    run_at: Mapped[datetime] = mapped_column(DateTime)
    # who holds the claim (enrich/holder.py): the outlet's own voice, a speaker, or a reported claim
    p_related: Mapped[float | None] = mapped_column(Float)  # max(p asserts, p denies) of the kept view
    holder_kind: Mapped[str] = mapped_column(String(16), default="outlet")  # outlet | speaker | reported
    holder: Mapped[str | None] = mapped_column(String(256))  # as written, or the entity key
    holder_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entity.id", ondelete="SET NULL"))
    holder_actor_id: Mapped[int | None] = mapped_column(ForeignKey("actor.id", ondelete="SET NULL"), index=True)
    claim_start: Mapped[int | None] = mapped_column(Integer)  # the claim's span inside the sentence
    claim_end: Mapped[int | None] = mapped_column(Integer)
    writer_stance: Mapped[str | None] = mapped_column(String(16))  # "denies" when the writer distances itself


class Contradiction(Base):
    """Two statements of one actor that contradict each other; a lead, not a verdict."""

    __tablename__ = "contradiction"
    __table_args__ = (UniqueConstraint("sentence_a_id", "sentence_b_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("actor.id", ondelete="CASCADE"), index=True)
    sentence_a_id: Mapped[int] = mapped_column(ForeignKey("sentence.id", ondelete="CASCADE"))
    sentence_b_id: Mapped[int] = mapped_column(ForeignKey("sentence.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # narratives | stance | nli
    narrative_a_id: Mapped[int | None] = mapped_column(ForeignKey("narrative.id", ondelete="SET NULL"))
    narrative_b_id: Mapped[int | None] = mapped_column(ForeignKey("narrative.id", ondelete="SET NULL"))
    score: Mapped[float] = mapped_column(Float)  # the ranking score
    p_contradict: Mapped[float | None] = mapped_column(Float)
    similarity: Mapped[float | None] = mapped_column(Float)
    cross_audience: Mapped[bool] = mapped_column(default=False)
    cross_language: Mapped[bool] = mapped_column(default=False)
    embed_model: Mapped[str | None] = mapped_column(String(128))
    nli_model: Mapped[str | None] = mapped_column(String(128))
    run_at: Mapped[datetime] = mapped_column(DateTime)
    # sentence pairs of the same claim pair and document pair folded under this, the best one
    folded: Mapped[int] = mapped_column(Integer, default=0)


class Review(Base):
    """An analyst's verdict on a finding, keyed by what the finding is about (sentence ids,
    narrative), not by the finding's row id: re-runs replace findings, never reviews."""

    __tablename__ = "review"
    __table_args__ = (UniqueConstraint("kind", "sentence_id", "other_sentence_id", "narrative_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # match | contradiction
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentence.id", ondelete="CASCADE"), index=True)
    other_sentence_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: none (a match review)
    narrative_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: none (a contradiction review)
    verdict: Mapped[str] = mapped_column(String(16))  # confirmed | rejected
    stance: Mapped[str | None] = mapped_column(String(16))  # the analyst's stance, when corrected
    note: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime)
    tags: Mapped[list | None] = mapped_column(JSON)  # the analyst's labels (migration 0012)


class Translation(Base):
    """An analyst's rendering of a stored span (a sentence, or a quote inside one) in another
    language, keyed by the span (document, start, end) and the rendering's language: re-runs of the
    stages replace quotes and findings, never sentences, so translations survive them."""

    __tablename__ = "translation"
    __table_args__ = (UniqueConstraint("document_id", "start", "end", "language"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentence.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(16))  # of the rendering (default en)
    text: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    translator: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime)  # UTC, naive


# -- who said it, who carried it (issue 4) ---------------------------------------------------


class Entity(Base):
    """A canonical person, organisation or place, with aliases in any language. Pure data
    the analyst maintains (``narratrace entities import``); nothing about a real one is built in."""

    __tablename__ = "entity"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(32), default="person")  # person | organisation | place | other
    description: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("actor.id", ondelete="SET NULL"))  # speaks for
    aliases: Mapped[list[EntityAlias]] = relationship(
        back_populates="entity", cascade="all, delete-orphan", order_by="EntityAlias.id"
    )
    actor: Mapped[Actor | None] = relationship()


class EntityAlias(Base):
    __tablename__ = "entity_alias"
    __table_args__ = (UniqueConstraint("entity_id", "norm"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(512))
    norm: Mapped[str] = mapped_column(String(512), index=True)  # enrich.entities.normalize(alias)
    language: Mapped[str | None] = mapped_column(String(16))
    entity: Mapped[Entity] = relationship(back_populates="aliases")


class EnrichState(Base):
    """Which documents a versioned enrichment stage has already seen (resumable, incremental)."""

    __tablename__ = "enrich_state"
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)  # e.g. "quotes"
    version: Mapped[str] = mapped_column(String(32))


class StageState(Base):
    """The last completed run of each pipeline stage (pipeline.py): its declared version, when it
    finished and what it reported. A stage whose declared version differs is redone."""

    __tablename__ = "stage_state"
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    finished_at: Mapped[datetime] = mapped_column(DateTime)
    result: Mapped[dict | None] = mapped_column(JSON)


class Mention(Base):
    """A named mention with its span in Document.text, linked to an entity when an alias matches."""

    __tablename__ = "mention"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(32))  # PERSON | ORG | GPE | … or the entity kind
    method: Mapped[str] = mapped_column(String(16))  # gazetteer | ner
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entity.id", ondelete="SET NULL"), index=True)


class Quote(Base):
    """A direct or reported quote: content, cue and speaker spans into Document.text.

    ``speaker_key`` groups quotes by speaker across documents: ``entity:<key>`` when the speaker
    resolved to a registry entity, else ``name:<normalised name>``, NULL when unattributed."""

    __tablename__ = "quote"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    sentence_id: Mapped[int | None] = mapped_column(ForeignKey("sentence.id", ondelete="SET NULL"))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # direct | indirect | mixed
    language: Mapped[str | None] = mapped_column(String(16))
    cue: Mapped[str | None] = mapped_column(String(256))
    cue_start: Mapped[int | None] = mapped_column(Integer)
    cue_end: Mapped[int | None] = mapped_column(Integer)
    speaker_start: Mapped[int | None] = mapped_column(Integer)  # as written ("he", "the former ambassador")
    speaker_end: Mapped[int | None] = mapped_column(Integer)
    speaker_name_start: Mapped[int | None] = mapped_column(Integer)  # the named mention it resolved to
    speaker_name_end: Mapped[int | None] = mapped_column(Integer)
    speaker_name: Mapped[str | None] = mapped_column(String(512))
    resolution: Mapped[str] = mapped_column(String(16))  # named | pronoun | nominal | none
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entity.id", ondelete="SET NULL"), index=True)
    speaker_key: Mapped[str | None] = mapped_column(String(600), index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # why it is unattributed
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    # who relays the statement when that is not the speaker ("Agency quoted X as saying"), as
    # written, with its span; NULL when the speaker speaks directly (migration 0011)
    carrier: Mapped[str | None] = mapped_column(String(256))
    carrier_start: Mapped[int | None] = mapped_column(Integer)
    carrier_end: Mapped[int | None] = mapped_column(Integer)


class CoordinationGroup(Base):
    """Documents with (near-)identical or translated text published by different outlets within
    a time window. Evidence of possible coordination, with its window and scores; not a verdict."""

    __tablename__ = "coordination_group"
    id: Mapped[int] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(String(16))  # near-duplicate | translation
    window_seconds: Mapped[float] = mapped_column(Float)
    first_document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    span_seconds: Mapped[float] = mapped_column(Float)
    n_documents: Mapped[int] = mapped_column(Integer)
    n_sources: Mapped[int] = mapped_column(Integer)
    run_at: Mapped[datetime] = mapped_column(DateTime)
    members: Mapped[list[CoordinationMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="CoordinationMember.published_at"
    )


class CoordinationMember(Base):
    __tablename__ = "coordination_member"
    group_id: Mapped[int] = mapped_column(ForeignKey("coordination_group.id", ondelete="CASCADE"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), primary_key=True,
                                             index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"))
    published_at: Mapped[datetime] = mapped_column(DateTime)
    similarity: Mapped[float] = mapped_column(Float)  # to the group's first document
    group: Mapped[CoordinationGroup] = relationship(back_populates="members")


# -- the analyst's desk (issue 5) -------------------------------------------------------------


class AuditEvent(Base):
    """Who changed the record through the REST API, and when: narrative and source imports,
    uploads. Reviews carry their own reviewer and time (Review.reviewer/at)."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)  # UTC, naive
    user: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))  # viewer | analyst
    action: Mapped[str] = mapped_column(String(64))  # narratives.import | sources.import | ingest | review
    target: Mapped[str | None] = mapped_column(Text)  # uploaded file names, the reviewed ids
    detail: Mapped[dict | None] = mapped_column(JSON)
