"""The ingest run: read → clean → dedup → segment → store, one transaction per document.

Idempotent: an item whose raw hash is stored is counted as already present and skipped.
Restartable: inputs are visited in a fixed order and cut into fixed chunks; each document
commits with its sentences, signature and boilerplate counts, so a run killed at any
point and run again ends with exactly the store an uninterrupted run makes.

Learned boilerplate needs to see a source's other pages before it can call a line
boilerplate. Each chunk is first extracted as a whole and its line counts are added to
the stored counts as a look-ahead; because chunk boundaries depend only on input order,
the counts a document is cleaned with are the same whether or not the run was restarted.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from narratrace.clean.boilerplate import LearnedBoilerplate, learnable_keys
from narratrace.clean.dates import VERSION as DATES_VERSION
from narratrace.clean.dates import DateValue, resolve_partial, url_date
from narratrace.clean.normalize import normalize_title, visible_controls
from narratrace.enrich.language import document_language, majority_language, sentence_language
from narratrace.ingest import deadline, dedup
from narratrace.ingest.extract import Extracted, extract
from narratrace.ingest.items import InputError, Problem, RawItem
from narratrace.segment.sentences import split_sentences
from narratrace.store.models import (
    BoilerplateLine,
    BoilerplateScope,
    Document,
    DocumentSignature,
    IngestEvent,
    Sentence,
)
from narratrace.store.registry import RegistryError, SourceMatcher

CHUNK = 256  # items extracted together for the boilerplate look-ahead; bounded memory
# Extraction (trafilatura, decoding, cleaning) is CPU-bound and independent per item, so a
# chunk's items are extracted in worker processes; below this many, process start-up costs
# more than it saves (measured on this 2-core machine: ~0.4 s per worker to import trafilatura).
MIN_PARALLEL = 32


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


@dataclass
class _Extracted:
    """What a worker hands back: cleaned lines, and each line's sentences with languages.

    Sentences never cross a line (paragraph), so segmenting line by line here gives exactly
    the spans of the final text, whichever lines learned boilerplate later removes.
    """

    ext: Extracted
    line_sentences: list[list[tuple[int, int, str | None]]]


def _extract_item(item: RawItem) -> _Extracted:
    ext = extract(item)
    hint = item.language or ext.language_hint
    _title_as_first_line(item, ext)
    per_line = []
    for line in ext.lines:
        per_line.append([(sp.start, sp.end, sentence_language(line[sp.start:sp.end], hint))
                         for sp in split_sentences(line)])
    return _Extracted(ext, per_line)


def _item_budget(item: RawItem) -> float:
    return deadline.budget(len(item.data) if item.data is not None else len(item.text or ""))


def _safe_extract(item: RawItem, seconds: float | None = None) -> _Extracted | str:
    """Runs in a worker: never raises, so one hostile page cannot break the pool; a page that
    overruns its time budget (ingest/deadline.py; ``seconds``, else read here) is a failed
    problem, not a stalled run. The warm pool's workers get ``seconds`` from the caller: they
    were forked earlier and would read the setting as it was then."""
    try:
        seconds = _item_budget(item) if seconds is None else seconds
        return deadline.call_with_deadline(lambda: _extract_item(item), seconds)
    except InputError as exc:
        return str(exc)
    except Exception as exc:  # a parser bug on hostile input must not stop the batch
        return f"{type(exc).__name__}: {exc}"


def _warm_up() -> None:
    """Load what extraction loads lazily (the extractor, language identification): in each worker of
    the server's pool as it starts (ingest/deadline.py ``timed_pool``), so the first upload's items
    do not wait for it."""
    # dated, in both scripts: the date parsers load their language data on first use too
    warm = ("Warm up the models.\n\nPublished 5 March 2026, 10:00 AM. The council met on Monday.\n\n"
            "تاریخ: ۱۴ اسفند ۱۴۰۴ — شورای شهر روز دوشنبه تشکیل جلسه داد.")
    for kind, data in (("text", warm.encode()), ("html", b"<html><body><p>Warm up.</p></body></html>")):
        try:  # outside any budget: loading is not a document's work
            _extract_item(RawItem(origin=f"warm-up.{kind}", kind=kind, data=data))
        except Exception:  # noqa: BLE001 - a failed warm-up only means the first item loads instead
            pass


def _title_as_first_line(item: RawItem, ext: Extracted) -> None:
    """A record's title (JSONL/CSV ``title``) is read like its text: it becomes the text's first
    line (its own paragraph, so its sentences, quotes and matches have exact spans), unless the text
    already opens with it. The stored ``title`` is the same string; ``meta.title_in_text`` says the
    first paragraph is the title. Text files and web pages keep their own: a text file's first line
    is its title already, and an HTML page's headline is in its extracted text or its metadata."""
    if item.kind != "record" or not item.title:
        return
    title = normalize_title(item.title, ext.language_hint)  # as the stored title is normalised
    if not title or (ext.lines and " ".join(ext.lines[0].split()) == title):
        return
    ext.lines.insert(0, title)
    ext.meta["title_in_text"] = True


Progress = Callable[[str, "IngestReport"], None]


@dataclass
class IngestReport:
    added: int = 0
    exact_duplicates: int = 0  # added, and linked to an earlier identical text
    near_duplicates: int = 0  # added, and linked to an earlier near-identical text
    already_present: int = 0  # this very material was ingested before: nothing added
    skipped: list[Problem] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)
    document_ids: list[int] = field(default_factory=list)
    # ingested, but with something the analyst should fix (a folder no source id places, …)
    warnings: list[Problem] = field(default_factory=list)
    # added (or re-dated) with no date: never placed in time by prevalence, spread, first
    # publisher or coordination; each says why ("no date printed", "month 13 does not exist")
    undated: list[Problem] = field(default_factory=list)
    redated: int = 0  # already present, dated by an older date module, and now dated anew

    def summary(self) -> str:
        return (f"added {self.added} (exact duplicates {self.exact_duplicates}, near duplicates "
                f"{self.near_duplicates}), already present {self.already_present}, "
                f"skipped {len(self.skipped)}, failed {len(self.failed)}"
                + (f", warnings {len(self.warnings)}" if self.warnings else "")
                + (f", undated {len(self.undated)}" if self.undated else "")
                + (f", re-dated {self.redated}" if self.redated else ""))

    @property
    def nothing_ingested(self) -> bool:
        """Every input failed or was skipped (or there was none): a run to exit non-zero on."""
        return self.added == 0 and self.already_present == 0

    def as_dict(self) -> dict:
        return {
            "added": self.added,
            "exact_duplicates": self.exact_duplicates,
            "near_duplicates": self.near_duplicates,
            "already_present": self.already_present,
            "skipped": [{"input": p.origin, "reason": p.reason} for p in self.skipped],
            "failed": [{"input": p.origin, "reason": p.reason} for p in self.failed],
            "warnings": [{"input": p.origin, "reason": p.reason} for p in self.warnings],
            "undated_count": len(self.undated),
            "undated": [{"input": p.origin, "reason": p.reason} for p in self.undated],
            "redated": self.redated,
        }


@dataclass
class _Prepared:
    item: RawItem
    raw_hash: str
    ext: Extracted
    line_sentences: list[list[tuple[int, int, str | None]]]
    source_id: int | None
    scope: str
    keys: set[str]


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    buf: list = []
    for it in items:
        buf.append(it)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def _up_to_date(s: Session, index: dedup.NearDuplicateIndex) -> dedup.NearDuplicateIndex:
    """``index`` with every stored signature: those above its largest id, then (when the counts still
    differ: ids committed out of order by concurrent writers) any other it lacks. Rebuilding the
    index for each ingest cost every upload a pass over all stored signatures: O(N) per upload."""
    sig = DocumentSignature
    for doc_id, blob in s.execute(select(sig.document_id, sig.minhash).where(sig.document_id > index.high)):
        index.add(doc_id, dedup.from_bytes(blob))
    if (s.scalar(select(func.count()).select_from(sig)) or 0) != index.size:
        missing = [i for i in s.scalars(select(sig.document_id)) if i not in index]
        for part in range(0, len(missing), 500):
            for doc_id, blob in s.execute(select(sig.document_id, sig.minhash)
                                          .where(sig.document_id.in_(missing[part:part + 500]))):
                index.add(doc_id, dedup.from_bytes(blob))
    return index


class Ingestor:
    def __init__(self, sessions: sessionmaker, *, source: str | None = None, workers: int | None = None,
                 near_index: dedup.NearDuplicateIndex | None = None) -> None:
        self.sessions = sessions
        self.progress: Progress | None = None
        self.workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None
        self.explicit_source = source
        with sessions() as s:
            self.matcher = SourceMatcher.load(s)
            if source:
                self.matcher.match(explicit=source)  # unknown key: fail before reading anything
            self.learned = self._load_learned(s)
            self.index = _up_to_date(s, near_index or dedup.NearDuplicateIndex())

    @staticmethod
    def _load_learned(s: Session) -> LearnedBoilerplate:
        lb = LearnedBoilerplate()
        lb.scope_docs = dict(s.execute(select(BoilerplateScope.scope, BoilerplateScope.doc_count)).all())
        lb.line_docs = {(sc, h): n for sc, h, n in s.execute(
            select(BoilerplateLine.scope, BoilerplateLine.line_hash, BoilerplateLine.doc_count))}
        return lb

    # -- the run ---------------------------------------------------------------------------

    def run(self, stream: Iterable[RawItem | Problem], progress: Progress | None = None) -> IngestReport:
        report = IngestReport()
        self._redated_ids: list[int] = []
        self.progress = progress
        try:
            for chunk in _chunks(stream, CHUNK):
                prepared = self._prepare_chunk(chunk, report)
                lookahead = self.learned.overlay()
                for p in prepared:
                    lookahead.add(p.scope, p.keys)
                for p in prepared:
                    try:
                        _retry_busy(lambda p=p: self._store(p, lookahead, report))
                    except IntegrityError:
                        if not self._stored_meanwhile(p.raw_hash):
                            raise
                        report.already_present += 1  # another ingest stored this very material first
                    except SQLAlchemyError:
                        raise  # the store itself failed: stop (each document is its own transaction)
                    except Exception as exc:  # this item's material broke storing it (rolled back)
                        self._problem(Problem(p.item.origin, "failed", f"{type(exc).__name__}: {exc}"), report)
                    if progress:
                        progress(p.item.origin, report)
            _retry_busy(lambda: self._place_partial_dates(report))
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None
        return report

    def _extract_all(self, items: list[RawItem]) -> list[_Extracted | str]:
        """Extract in input order (map keeps it), in parallel when it pays, and always in the pool
        where this thread cannot enforce the per-document time budget (ingest/deadline.py)."""
        timed_here = deadline.enforceable() or deadline.budget(0) <= 0
        if timed_here and (self.workers < 2 or len(items) < MIN_PARALLEL):
            return [_safe_extract(it) for it in items]
        if not timed_here:  # a server thread: the process's warm pool, kept between uploads
            pool = deadline.timed_pool(self.workers, _warm_up)
            try:
                return list(pool.map(_safe_extract, items, [_item_budget(it) for it in items], chunksize=4))
            except BrokenProcessPool as exc:  # a worker died (killed, out of memory): these items fail
                deadline.discard_pool(pool)
                return [f"the extraction worker stopped ({exc}); try this item again" for _ in items]
        if self._pool is None:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
        return list(self._pool.map(_safe_extract, items, chunksize=4))

    def _prepare_chunk(self, chunk: list, report: IngestReport) -> list[_Prepared]:
        hashes = {}
        broken: dict[int, Problem] = {}
        for it in chunk:
            if isinstance(it, RawItem):
                try:
                    hashes[id(it)] = it.raw_hash()
                except Exception as exc:  # a custom reader's unhashable item: that item fails, not the chunk
                    broken[id(it)] = Problem(it.origin, "failed", f"{type(exc).__name__}: {exc}")
        legacy = {id(it): it.legacy_hashes() for it in chunk if isinstance(it, RawItem) and id(it) in hashes}
        wanted = list(hashes.values()) + [h for hs in legacy.values() for h in hs]
        with self.sessions() as s:
            # raw hash → (id, dates_version): a document dated by an older date module is re-dated
            stored = {h: (i, v) for h, i, v in s.execute(
                select(Document.raw_hash, Document.id, Document.dates_version).where(Document.raw_hash.in_(wanted)))}
        todo: list[RawItem] = []
        redate: list[tuple[RawItem, int]] = []
        seen: set[str] = set()
        for it in chunk:
            if isinstance(it, Problem) or id(it) in broken:
                self._problem(broken.get(id(it), it), report)
                continue
            h = hashes[id(it)]
            hit = next((hh for hh in (h, *legacy.get(id(it), ())) if hh in stored), None)
            if hit is not None or h in seen:
                report.already_present += 1
                if hit is not None and h not in seen and (stored[hit][1] or 0) < DATES_VERSION:
                    redate.append((it, stored[hit][0]))
                seen.add(h)
                if self.progress:
                    self.progress(it.origin, report)
                continue
            seen.add(h)
            todo.append(it)
        if redate:
            self._redate(redate, hashes, report)
        out: list[_Prepared] = []
        for it, done in zip(todo, self._extract_all(todo)):
            if isinstance(done, str):
                self._problem(Problem(it.origin, "failed", done), report)
                continue
            ext = done.ext
            try:
                source_id = self.matcher.match(explicit=self.explicit_source or it.source, feed=it.feed,
                                               channel=it.channel, urls=(ext.url, it.url))
                scope = self._scope(source_id, ext.url or it.url, it.origin, it.kind)
                keys = learnable_keys(ext.lines)
            except RegistryError as exc:
                self._problem(Problem(it.origin, "failed", str(exc)), report)
                continue
            except Exception as exc:  # hostile material: this item fails, the chunk goes on
                self._problem(Problem(it.origin, "failed", f"{type(exc).__name__}: {exc}"), report)
                continue
            out.append(_Prepared(it, hashes[id(it)], ext, done.line_sentences, source_id, scope, keys))
        return out

    @staticmethod
    def _scope(source_id: int | None, url: str | None, origin: str, kind: str) -> str:
        """Where a line must repeat to be learned as chrome: one template, so one source *and*
        one kind of item (a broadcaster's web pages, transcripts and channel posts each
        have their own furniture, and mixing them dilutes the ≥50%-of-documents rule)."""
        if source_id is not None:
            return f"source:{source_id}:{kind}"
        host = urlsplit(url).hostname if url else None
        if host:
            return f"host:{host.lower()}"
        return "dir:" + origin.rsplit("/", 1)[0].split("#")[0]

    def _redate(self, items: list[tuple[RawItem, int]], hashes: dict[int, str], report: IngestReport) -> None:
        """Date again documents an older date module dated, changing only their date fields
        (and a pre-0009 record's raw hash, which now keeps the raw date: see RawItem.legacy_hashes)."""
        for (it, doc_id), done in zip(items, self._extract_all([it for it, _ in items])):
            if isinstance(done, str):
                continue  # it was stored once; a failure now leaves it as it was
            published_at, precision, date_source, why = _date_of(it, done.ext)
            with self.sessions.begin() as s:
                doc = s.get(Document, doc_id)
                if doc is None:
                    continue
                changed = (doc.published_at, doc.date_precision, doc.date_source) != (published_at, precision, date_source)
                meta = dict(doc.meta or {})
                for key in ("date_printed", "date_calendar", "date_partial", "date_ambiguous", "date_problems",
                            "unparsed_date"):
                    meta.pop(key, None)
                meta.update({k: v for k, v in done.ext.meta.items() if k.startswith("date_")})
                if it.date_problem:
                    meta["date_problems"] = [it.date_problem, *meta.get("date_problems", [])][:5]
                doc.published_at, doc.date_precision, doc.date_source = published_at, precision, date_source
                doc.dates_version, doc.meta = DATES_VERSION, meta
                if doc.raw_hash != hashes[id(it)]:
                    doc.raw_hash = hashes[id(it)]
            report.redated += int(changed)
            if published_at is None:
                report.undated.append(Problem(it.origin, "undated", why))
            self._redated_ids.append(doc_id)  # not in report.document_ids: those are the added ones

    def _place_partial_dates(self, report: IngestReport) -> None:
        """Days printed without a year («۱۹ مهرماه», "December 02") and no crawl time: placed in
        the year nearest the median date of the same source's dated documents (of the whole store
        when the source has none). A writer leaves the year out only for a day within months."""
        ids = set(report.document_ids) | set(self._redated_ids)
        if not ids:
            return
        with self.sessions.begin() as s:
            docs = [d for d in s.scalars(select(Document).where(Document.id.in_(sorted(ids)),
                                                                Document.published_at.is_(None)))
                    if (d.meta or {}).get("date_partial")]
            for doc in docs:
                q = select(Document.published_at).where(Document.published_at.is_not(None),
                                                        Document.date_source != "inferred")
                when = list(s.scalars(q.where(Document.source_id == doc.source_id))) if doc.source_id else []
                scope = "source"
                if not when:
                    when, scope = list(s.scalars(q)), "store"
                ref = _median(when)
                if ref is None:
                    continue
                cal, month, day = doc.meta["date_partial"]
                got = resolve_partial(DateValue(None, "day", cal, partial=(cal, month, day)), ref)
                if got is None or got.at is None:
                    continue
                meta = dict(doc.meta)
                meta["date_year_from"] = f"median date of the {scope}'s {len(when)} dated documents ({ref.date()})"
                doc.published_at, doc.date_precision, doc.date_source, doc.meta = got.at, "day", "inferred", meta
                report.undated = [p for p in report.undated if p.origin != doc.origin]

    def _problem(self, p: Problem, report: IngestReport) -> None:
        (report.failed if p.status == "failed" else report.skipped).append(p)
        with self.sessions.begin() as s:
            s.add(IngestEvent(at=_now(), origin=p.origin[:4000], status=p.status, reason=p.reason[:4000]))
        if self.progress:
            self.progress(p.origin, report)

    def _store(self, p: _Prepared, lookahead: LearnedBoilerplate, report: IngestReport) -> None:
        it, ext = p.item, p.ext
        lines: list[str] = []
        sentences: list[tuple[int, int, str | None]] = []
        offset = 0
        for line, sents in zip(ext.lines, p.line_sentences):
            if lookahead.is_boilerplate(p.scope, line):
                continue
            if lines:
                offset += 2  # the "\n\n" that joins paragraphs
            lines.append(line)
            sentences.extend((offset + a, offset + b, lg) for a, b, lg in sents)
            offset += len(line)
        text = "\n\n".join(lines)
        if not text.strip():
            self._problem(Problem(it.origin, "skipped", "no text left after cleaning"), report)
            return
        language = (majority_language([(text[a:b], lg) for a, b, lg in sentences])
                    or it.language or ext.language_hint or document_language(text))
        chash = dedup.clean_hash(text)
        sig = dedup.signature(text)
        published_at, precision, date_source, undated_why = _date_of(it, ext)
        with self.sessions.begin() as s:
            # A duplicate links to its group's root, so "copy of X, similarity s" is one hop.
            roots = self._matching_roots(s, chash, sig)
            dup_id = self._earliest_root(s, roots, published_at) if roots else None
            dup_kind = dup_score = root_hash = root_sig = None
            if dup_id is not None:
                root_hash = s.scalar(select(Document.clean_hash).where(Document.id == dup_id))
                blob = s.scalar(select(DocumentSignature.minhash).where(DocumentSignature.document_id == dup_id))
                root_sig = dedup.from_bytes(blob) if blob is not None else None
                dup_kind, dup_score = _similarity(s, None, chash, root_hash, root_sig, sig)
            meta = dict(ext.meta)
            meta.update(it.meta)
            meta.setdefault("clean", {})["learned_lines"] = len(ext.lines) - len(lines)
            if it.date_problem:
                meta["date_problems"] = [it.date_problem, *meta.get("date_problems", [])][:5]
            doc = Document(
                source_id=p.source_id,
                origin=visible_controls(it.origin),
                url=visible_controls(it.url or ext.url),
                canonical_url=visible_controls(ext.url) if ext.url and ext.url != it.url else None,
                title=normalize_title(it.title or ext.title, ext.language_hint),
                author=visible_controls(it.author or ext.author),
                site_name=visible_controls(ext.site_name),
                published_at=published_at,
                date_precision=precision,
                date_source=date_source,
                dates_version=DATES_VERSION,
                language=language,
                content_type=it.kind,
                text=text,
                raw_hash=p.raw_hash,
                clean_hash=chash,
                ingested_at=_now(),
                duplicate_of_id=dup_id,
                duplicate_kind=dup_kind,
                duplicate_score=dup_score,
                meta=meta,
            )
            s.add(doc)
            s.flush()
            # every other group this text joins is merged under the root (or under this document)
            root = (dup_id, root_hash, root_sig) if dup_id is not None else (doc.id, chash, sig)
            for other in roots:
                if other != root[0]:
                    self._repoint_group(s, other, *root)
            # Core executemany, not ORM objects: sentences are the bulk of the rows written.
            if sentences:
                s.execute(insert(Sentence.__table__), [
                    {"document_id": doc.id, "idx": i, "start": a, "end": b, "language": lg}
                    for i, (a, b, lg) in enumerate(sentences)])
            if sig is not None:
                s.execute(insert(DocumentSignature.__table__), [
                    {"document_id": doc.id, "num_perm": dedup.NUM_PERM, "minhash": dedup.to_bytes(sig)}])
            counts = self._count_lines(s, p.scope, p.keys)
        # Only after the commit: in-memory state must never run ahead of the store.
        sc, n = counts["scope"]
        self.learned.scope_docs[sc] = n
        self.learned.line_docs.update(counts["lines"])
        if sig is not None:
            self.index.add(doc.id, sig)
        report.added += 1
        report.document_ids.append(doc.id)
        if published_at is None:
            report.undated.append(Problem(it.origin, "undated", undated_why))
        if dup_kind == "exact":
            report.exact_duplicates += 1
        elif dup_kind == "near":
            report.near_duplicates += 1

    def _stored_meanwhile(self, raw_hash: str) -> bool:
        """After a unique-key failure: did a concurrent ingest store this material first?"""
        with self.sessions() as s:
            return s.scalar(select(Document.id).where(Document.raw_hash == raw_hash)) is not None

    def _matching_roots(self, s: Session, chash: str, sig) -> list[int]:
        """Roots of every group this text joins: identical texts, and texts whose estimated
        Jaccard similarity is at or above the threshold (LSH proposes, signatures decide)."""
        ids = set(s.scalars(select(Document.id).where(Document.clean_hash == chash)))
        cands = self.index.candidates(sig) if sig is not None else []
        if cands:
            for doc_id, blob in s.execute(select(DocumentSignature.document_id, DocumentSignature.minhash)
                                          .where(DocumentSignature.document_id.in_(cands))):
                if dedup.jaccard(sig, dedup.from_bytes(blob)) >= dedup.NEAR_THRESHOLD:
                    ids.add(doc_id)
        if not ids:
            return []
        return sorted(set(s.scalars(select(func.coalesce(Document.duplicate_of_id, Document.id))
                                    .where(Document.id.in_(ids)))))

    @staticmethod
    def _earliest_root(s: Session, roots: list[int], published_at: datetime | None) -> int | None:
        """The group's root: its earliest-published member (None: the new document).

        Ingest order is arbitrary (folders sort by name, feeds arrive late) but "who published
        it first" is what provenance needs, so a new document published before the current
        root takes its place. Dated documents rank before undated ones (a date is evidence of
        when; its absence is none), then by id, so ties keep the first stored.
        """
        best_key, best = (published_at is None, published_at or datetime.min, float("inf")), None
        for rid, when in s.execute(select(Document.id, Document.published_at).where(Document.id.in_(roots))):
            key = (when is None, when or datetime.min, rid)
            if key < best_key:
                best_key, best = key, rid
        return best

    @staticmethod
    def _repoint_group(s: Session, old_root: int, new_root: int, root_hash: str, root_sig) -> None:
        """Merge a group under another root; every link is re-scored against the new root."""
        members = s.execute(select(Document.id, Document.clean_hash)
                            .where((Document.id == old_root) | (Document.duplicate_of_id == old_root))).all()
        for member_id, member_hash in members:
            kind, score = _similarity(s, member_id, member_hash, root_hash, root_sig)
            s.execute(update(Document.__table__).where(Document.__table__.c.id == member_id)
                      .values(duplicate_of_id=new_root, duplicate_kind=kind, duplicate_score=score))

    def _count_lines(self, s: Session, scope: str, keys: set[str]) -> dict:
        """Add this document to the stored counts, and return the counts as stored after it.

        One ``INSERT … ON CONFLICT DO UPDATE SET doc_count = doc_count + 1`` per table (SQLite and
        PostgreSQL both have it): the increment happens in the database, so two ingests writing
        the same scope at once neither collide on the key nor lose an update (the read-then-write
        it replaces did both: issue 15 saw 761 counted for 800 documents). RETURNING hands back
        the stored counts, which then replace the in-memory ones (another writer's documents
        included)."""
        scope_t, line_t = BoilerplateScope.__table__, BoilerplateLine.__table__
        ins = sqlite_insert if s.get_bind().dialect.name == "sqlite" else pg_insert
        stmt = ins(scope_t).values(scope=scope, doc_count=1)
        stmt = stmt.on_conflict_do_update(index_elements=[scope_t.c.scope],
                                          set_={"doc_count": scope_t.c.doc_count + 1})
        counts = {"scope": (scope, s.execute(stmt.returning(scope_t.c.doc_count)).scalar_one()), "lines": {}}
        ordered = sorted(keys)
        for i in range(0, len(ordered), _UPSERT_ROWS):
            stmt = ins(line_t).values([{"scope": scope, "line_hash": k, "doc_count": 1}
                                       for k in ordered[i:i + _UPSERT_ROWS]])
            stmt = stmt.on_conflict_do_update(index_elements=[line_t.c.scope, line_t.c.line_hash],
                                              set_={"doc_count": line_t.c.doc_count + 1})
            for k, n in s.execute(stmt.returning(line_t.c.line_hash, line_t.c.doc_count)):
                counts["lines"][(scope, k)] = n
        return counts


# Rows per multi-row upsert: 3 parameters a row stays far below SQLite's 32,766-variable limit.
_UPSERT_ROWS = 500
# A write that meets a busy store (SQLite's "database is locked" when a reader's snapshot must
# become a writer after another writer committed, which its busy timeout does not wait out;
# PostgreSQL's serialization failures and deadlocks) is retried as a whole transaction, with
# backoff: 8 tries span ~6 s, longer than any one document's write measured (< 0.5 s).
_BUSY_TRIES = 8
_BUSY_MARKERS = ("database is locked", "database table is locked", "busy", "deadlock detected",
                 "could not serialize")


def _busy(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and any(m in str(exc).lower() for m in _BUSY_MARKERS)


def _retry_busy(fn: Callable[[], None]) -> None:
    for attempt in range(_BUSY_TRIES):
        try:
            return fn()
        except OperationalError as exc:
            if not _busy(exc) or attempt == _BUSY_TRIES - 1:
                raise
            time.sleep(0.05 * 2 ** attempt * (0.5 + random.random()))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _date_of(it: RawItem, ext: Extracted) -> tuple[datetime | None, str | None, str | None, str | None]:
    """(published_at, precision, source, why undated): the date a caller or record gave beats the
    one read from the material (it is the analyst's, or the record's own field)."""
    if it.published_at is not None:
        precision = it.date_precision or ("day" if it.published_at.time() == datetime.min.time() else "minute")
        return it.published_at, precision, it.date_source or "given", None
    if ext.published_at is not None:
        return ext.published_at, ext.date_precision, ext.date_source, None
    if not ext.meta.get("date_partial"):  # a printed "today (19 Mehr)" is the writer's; a URL's day is the CMS's
        for url in (it.url, ext.url):
            v = url_date(url, it.fetched_at)
            if v is not None:
                return v.at, v.precision, "url", None
    problems = ([it.date_problem] if it.date_problem else []) + list(ext.meta.get("date_problems", []))
    if ext.meta.get("date_partial"):
        why = f"'{ext.meta.get('date_printed', '')}' has no year, and no crawl time or dated document places it"
    elif problems:
        why = "; ".join(problems[:3])
    else:
        why = "no date printed or given"
    return None, None, None, why


def _median(values: list[datetime]) -> datetime | None:
    if not values:
        return None
    values = sorted(values)
    return values[len(values) // 2]


def _similarity(s: Session, doc_id: int | None, doc_hash: str, root_hash: str, root_sig,
                doc_sig=None) -> tuple[str, float]:
    """("exact", 1.0) for the same clean text, else ("near", estimated Jaccard) from MinHash
    signatures (the document's own, or its stored one)."""
    if doc_hash == root_hash:
        return "exact", 1.0
    if doc_sig is None and doc_id is not None:
        blob = s.scalar(select(DocumentSignature.minhash).where(DocumentSignature.document_id == doc_id))
        doc_sig = dedup.from_bytes(blob) if blob is not None else None
    if doc_sig is None or root_sig is None:
        return "near", 0.0
    return "near", round(dedup.jaccard(doc_sig, root_sig), 4)
