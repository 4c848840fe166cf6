"""The read queries behind the Workspace: SQL lives here (and in the stages), never in a face.

One module per family of records, in the order of the flow — ``record`` (sources, documents,
sentences, search, stats), ``narratives`` (registry, matches, prevalence rows, reviews),
``contradictions``, ``provenance`` (entities, quotes, speakers, spread), ``coordination``. Each
function takes an open ``Session`` and plain arguments (a ``Filters`` where documents are
narrowed) and returns records (``narratrace.records``) or plain rows for a pure function in
``detect/`` or ``report/``. The Workspace opens the session and documents the call.
"""

from __future__ import annotations

from sqlalchemy import Select

from narratrace.filters import Filters
from narratrace.store.models import Actor, Document, Source


def apply_filters(q: Select, f: Filters | None) -> Select:
    """Narrow a query that joins Document, Source and Actor (as ``Actor``: the outlet's owner)."""
    if not f:
        return q
    if f.source:
        q = q.where(Source.key.in_(list(f.source)))
    if f.actor:
        q = q.where(Actor.key == f.actor)
    if f.audience:
        q = q.where(Source.audience == f.audience)
    if f.language:
        q = q.where(Document.language == f.language)
    if f.since is not None:
        q = q.where(Document.published_at >= f.since_utc)
    if f.until is not None:
        q = q.where(Document.published_at <= f.until_utc)
    return q


def with_outlet(q: Select, document=Document) -> Select:
    """Join a document's source and that source's actor (outer: unattributed documents stay)."""
    return (q.outerjoin(Source, document.source_id == Source.id)
            .outerjoin(Actor, Source.actor_id == Actor.id))


def chunks(ids: list, size: int = 900):
    """IN-lists of at most ``size`` ids (SQLite's bound-parameter limit is 999 on old builds)."""
    for i in range(0, len(ids), size):
        yield ids[i:i + size]
