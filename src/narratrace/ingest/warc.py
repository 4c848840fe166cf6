"""WARC/ARC archives (warcio): each HTML response record becomes an item."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from narratrace.ingest.items import Problem, RawItem


def read_warc(path: Path, max_bytes: int) -> Iterator[RawItem | Problem]:
    n = 0
    try:
        with path.open("rb") as fh:
            # digests checked: a record whose declared length is wrong (an inflated Content-Length
            # swallows the records after it) fails its block digest where the crawler wrote one
            for record in ArchiveIterator(fh, arc2warc=True, check_digests=True):
                n += 1
                if record.rec_type is None:  # WARC-Type is mandatory: this is a damaged record, not crawl noise
                    yield Problem(f"{path} (record {n})", "failed", "malformed WARC record: no WARC-Type header")
                    continue
                if record.rec_type != "response":
                    continue
                uri = record.rec_headers.get_header("WARC-Target-URI")
                origin = f"{path}#{uri or n}"
                ctype = (record.http_headers.get_header("Content-Type") if record.http_headers else "") or ""
                status = record.http_headers.get_statuscode() if record.http_headers else "200"
                if status != "200":
                    continue  # redirects and errors are crawl noise, not documents
                if "html" not in ctype.lower():
                    yield Problem(origin, "skipped", f"not HTML ({ctype or 'no content type'})")
                    continue
                body = record.content_stream().read(max_bytes + 1)
                if len(body) > max_bytes:
                    yield Problem(origin, "failed", f"record over the {max_bytes / 2**20:.3g} MB limit")
                    continue
                missing = getattr(record.raw_stream, "limit", 0) or 0
                if missing > 0:  # the archive ends inside this record: never store half a page
                    yield Problem(origin, "failed", f"WARC record cut short: {missing} of its {record.length} "
                                                    "declared bytes are missing (a truncated download?)")
                    continue
                checker = getattr(record, "digest_checker", None)
                if checker is not None and checker.passed is False:
                    yield Problem(origin, "failed", "WARC record damaged: its digest does not match its content "
                                                    "(a wrong Content-Length swallows the records after it)")
                    continue
                charset = None
                if "charset=" in ctype.lower():
                    charset = ctype.lower().split("charset=")[-1].split(";")[0].strip()
                yield RawItem(origin=origin, kind="html", data=body, url=uri, charset=charset,
                              meta={"warc_date": record.rec_headers.get_header("WARC-Date")})
    except Exception as exc:  # noqa: BLE001 - warcio raises AttributeError, zlib.error, ... on garbage
        # The stream cannot be resynchronised after a broken record; what came before stays.
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        if detail.startswith("Unknown archive format"):
            detail = "not a WARC/ARC record (unknown archive format)"  # the rest is the garbage itself
        elif not isinstance(exc, (ArchiveLoadFailed, ValueError, OSError, EOFError)):
            detail = f"{type(exc).__name__}: {detail}"
        yield Problem(f"{path} (record {n + 1})", "failed", f"unreadable WARC record: {detail}")
