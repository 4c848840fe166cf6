"""Local inputs: files, directories (recursive) and globs → RawItems.

One reader per format; each yields RawItems or Problems and never raises for a bad input,
so one broken file never stops a batch.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import fnmatch
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from narratrace.clean.dates import DateError, DateValue, check_date
from narratrace.clean.encoding import DecodeError, decode, fix_mojibake
from narratrace.ingest.items import DEFAULT_MAX_BYTES, InputError, Problem, RawItem
from narratrace.ingest.telegram import read_telegram
from narratrace.ingest.warc import read_warc

KIND_BY_SUFFIX = {
    ".html": "html", ".htm": "html", ".xhtml": "html", ".shtml": "html",
    ".txt": "text", ".text": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".pdf": "pdf",
    ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".csv": "csv", ".tsv": "csv",
    ".warc": "warc", ".arc": "warc",
    ".json": "json",
}

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# A positional input that is a web address (scheme, or a bare "www." host) and no local file.
_URL_LIKE = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]*://|www\.)\S+")

# Record fields and the column names tried for each when no --map is given.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "text": ("text", "content", "body", "message", "article", "full_text"),
    "html": ("html", "raw_html"),
    "url": ("url", "link", "permalink"),
    "title": ("title", "headline"),
    "author": ("author", "byline", "authors"),
    "published_at": ("published_at", "published", "date", "datetime", "timestamp", "pubdate"),
    "source": ("source", "outlet", "source_id"),
    "language": ("language", "lang"),
}


def file_kind(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in (".warc.gz", ".arc.gz"):
        if name.endswith(suffix):
            return "warc"
    return KIND_BY_SUFFIX.get(path.suffix.lower())


def discover(inputs: Iterable[str], recursive: bool = True,
             follow_symlinks: bool = False) -> tuple[list[Path], list[Problem]]:
    """Expand files, directories and globs into a sorted, de-duplicated file list.

    Sorted so that every run visits inputs in the same order (restart = identical store).
    Walking a directory (or expanding a glob, from its literal leading folder) never leaves
    that folder through a symlink unless ``follow_symlinks``, never walks one real folder
    twice (a symlink loop is reported once, not followed), and reports what it skipped.
    A file named directly is the caller's explicit choice and is read wherever it points.
    """
    found: dict[str, Path] = {}
    problems: list[Problem] = []
    for raw in inputs:
        p = Path(raw).expanduser()
        if _URL_LIKE.match(raw) and not p.exists():  # before globs: a query string has a "?"
            problems.append(Problem(raw, "failed", f"this is a URL, not a local file: fetch it with --url {raw} "
                                    "(or --feed / --sitemap)"))
            continue
        if any(ch in raw for ch in "*?["):
            base, parts = _glob_base(raw)
            files = [f for f, rel in _walk(base, None if "**" in parts else len(parts), follow_symlinks, problems)
                     if _glob_match(parts, rel)]
            if not files:
                problems.append(Problem(raw, "failed", "glob matched no files"))
            candidates = files
        elif p.is_dir():
            candidates = [f for f, _rel in _walk(p, None if recursive else 1, follow_symlinks, problems)]
        elif p.exists():
            candidates = [p]
        else:
            problems.append(Problem(raw, "failed", "no such file or directory"))
            continue
        for c in candidates:
            if c.is_file() and not c.name.startswith("."):
                found[str(c.resolve())] = c
    return [found[k] for k in sorted(found)], problems


def folder_warnings(roots: list[Path], files: list[Path], keys: set[str], asked: bool = True) -> list[Problem]:
    """What ``--source-from-folder`` cannot place: each top folder under a given directory that is
    no registered source id (its files then get a source from their URL only), with the closest id;
    and the option given with no directory to read folders from."""
    if asked and not roots:
        return [Problem("--source-from-folder", "skipped", "no directory among the inputs: the option places "
                        "files by their folder under a given directory (DIR/<source-id>/…)")]
    unplaced: dict[Path, int] = {}
    for f in files:
        for root in roots:
            try:
                parts = f.resolve().relative_to(root).parts
            except ValueError:
                continue
            if len(parts) > 1 and parts[0] not in keys:
                unplaced[root / parts[0]] = unplaced.get(root / parts[0], 0) + 1
            break
    out = []
    for folder, n in sorted(unplaced.items()):
        close = difflib.get_close_matches(folder.name, sorted(keys), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        out.append(Problem(str(folder), "skipped", f"folder '{folder.name}' is not a registered source id{hint} "
                           f"({n} file{'s' if n != 1 else ''} under it attributed by URL only; register the source "
                           "or rename the folder)"))
    return out


def _walk(top: Path, max_depth: int | None, follow: bool,
          problems: list[Problem]) -> Iterator[tuple[Path, tuple[str, ...]]]:
    """Files under ``top`` with their path parts relative to it, at most ``max_depth`` parts deep.

    Iterative (no recursion limit), each real folder listed once. A symlink whose target lies
    outside ``top`` is skipped with a problem unless ``follow``; a symlinked folder inside ``top``
    is not walked through the link (its real place is walked already, or will be).
    """
    try:
        base = top.resolve(strict=True)
    except (OSError, RuntimeError):
        return  # a glob's missing folder: "glob matched no files" says it
    visited = {base}
    stack: list[tuple[Path, tuple[str, ...]]] = [(top, ())]
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            problems.append(Problem(str(folder), "failed", f"cannot list folder: {exc.strerror or exc}"))
            continue
        subdirs = []
        for entry in entries:
            path, parts = Path(entry.path), (*rel, entry.name)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if entry.name.startswith(".") and not is_dir:
                continue  # hidden files are never ingested (as before)
            if is_dir and max_depth is not None and len(parts) >= max_depth:
                continue
            link = entry.is_symlink()
            real = None
            if link:
                try:
                    real = path.resolve(strict=True)
                except (OSError, RuntimeError):  # dangling, or a loop of links (a -> b -> a)
                    problems.append(Problem(str(path), "skipped", "broken symlink or symlink loop"))
                    continue
                here = Path(folder).resolve()
                if is_dir and (real == here or real in here.parents):
                    problems.append(Problem(str(path), "skipped", f"symlink loop: points back to {real}, not followed"))
                    continue
                if not follow and real != base and base not in real.parents:
                    problems.append(Problem(str(path), "skipped", f"symlink to outside the folder: {real} "
                                            "(use --follow-symlinks to ingest it)"))
                    continue
            if not is_dir:
                yield path, parts
                continue
            if link and not follow:
                continue  # a folder inside the given one: walked at its real place
            real = real or path.resolve()
            if real in visited:
                continue
            visited.add(real)
            subdirs.append((path, parts))
        stack.extend(subdirs)


def _glob_base(pattern: str) -> tuple[Path, list[str]]:
    """A glob's literal leading folder, and the pattern's parts after it."""
    parts = pattern.split(os.sep)
    i = next(n for n, part in enumerate(parts) if any(ch in part for ch in "*?["))
    lead = os.sep.join(parts[:i]) or (os.sep if i else ".")
    return Path(lead), [x for x in parts[i:] if x]


def _glob_match(pattern: list[str], parts: tuple[str, ...]) -> bool:
    """glob.glob's rules: ``**`` spans zero or more folders, ``*`` does not match a leading dot."""
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_glob_match(rest, parts[k:]) for k in range(len(parts) + 1)
                   if not any(x.startswith(".") for x in parts[:k]))
    if not parts or (parts[0].startswith(".") and not head.startswith(".")):
        return False
    return fnmatch.fnmatchcase(parts[0], head) and _glob_match(rest, parts[1:])


def read_path(path: Path, *, mapping: dict[str, str] | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
              source: str | None = None) -> Iterator[RawItem | Problem]:
    origin = str(path)
    kind = file_kind(path)
    if kind is None:
        yield Problem(origin, "skipped", f"unsupported file type '{path.suffix or path.name}'")
        return
    try:
        if kind in ("jsonl", "csv"):
            yield from _records(path, kind, mapping or {}, max_bytes)
        elif kind == "warc":
            yield from read_warc(path, max_bytes)
        elif kind == "json":
            yield from read_telegram(path, max_bytes)
        else:
            size = path.stat().st_size
            if size == 0:
                yield Problem(origin, "skipped", "empty file")
                return
            if size > max_bytes:
                yield Problem(origin, "failed", f"file is {size / 2**20:.1f} MB, over the "
                              f"{max_bytes / 2**20:.3g} MB limit for one document (raise it with `narratrace ingest --max-mb`)")
                return
            yield RawItem(origin=origin, kind=kind, data=path.read_bytes(), source=source)
    except InputError as exc:
        yield Problem(origin, "failed", str(exc))
    except OSError as exc:
        yield Problem(origin, "failed", f"cannot read: {exc.strerror or exc}")
    except RecursionError:  # a Telegram export (one JSON document) nested too deep to parse
        yield Problem(origin, "failed", f"nesting deeper than {MAX_DEPTH}")
    except Exception as exc:  # a reader bug on hostile input costs this file, never the run
        yield Problem(origin, "failed", f"{type(exc).__name__}: {exc}")


def resolve_columns(columns: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """field → column. Explicit mapping wins; otherwise the first alias present."""
    lower = {c.lower().strip(): c for c in columns}
    out: dict[str, str] = {}
    for fld, col in mapping.items():
        if fld not in FIELD_ALIASES:
            raise InputError(f"unknown field '{fld}' in --map (fields: {', '.join(FIELD_ALIASES)})")
        if col not in columns and col.lower() not in lower:
            raise InputError(f"--map {fld}={col}: no column '{col}' (columns: {', '.join(columns)})")
        out[fld] = col if col in columns else lower[col.lower()]
    for fld, aliases in FIELD_ALIASES.items():
        if fld in out:
            continue
        for a in aliases:
            if a in lower:
                out[fld] = lower[a]
                break
    if "text" not in out and "html" not in out:
        raise InputError(
            f"no text column (columns: {', '.join(columns) or 'none'}); map one with --map text=COLUMN")
    return out


def _value(row: dict, cols: dict[str, str], fld: str) -> str | None:
    col = cols.get(fld)
    if col is None:
        return None
    v = row.get(col)
    if v is None:
        return None
    if isinstance(v, list):
        v = ", ".join(str(x) for x in v)
    # A JSON "\ud800" escape decodes to a lone surrogate, which no store can hold: U+FFFD, as
    # for any other undecodable text.
    v = _LONE_SURROGATE.sub("\ufffd", str(v)).strip()
    return v or None


def _parse_when(value: str | None, field: str = "published_at") -> tuple[DateValue | None, str | None]:
    """A record's date field: (date, None), or (None, why not) naming the field.

    A hostile date ("99999999999999999999", "²²²²²²²²²", year 1 at +14:00) is no date, not a crash."""
    if value is None:
        return None, None
    try:
        return check_date(value), None
    except DateError as exc:
        return None, f"field '{field}': {exc}"
    except (ValueError, OverflowError, OSError) as exc:
        return None, f"field '{field}': '{value[:80]}' is not a date ({exc})"


def record_item(row: dict, cols: dict[str, str], origin: str, max_bytes: int) -> RawItem | Problem:
    html = _value(row, cols, "html")
    text = _value(row, cols, "text")
    if text:  # JSON "\u00d9\u02c6..." escapes hide mojibake from the file-level repair in decode()
        text = fix_mojibake(text)
    if not html and not text:
        return Problem(origin, "skipped", "record has no text")
    body = html or text
    if len(body.encode("utf-8", "ignore")) > max_bytes:
        return Problem(origin, "failed", f"record is over the {max_bytes / 2**20:.3g} MB limit")
    published_raw = _value(row, cols, "published_at")
    when, why = _parse_when(published_raw, cols.get("published_at", "published_at"))
    item = RawItem(
        origin=origin,
        kind="html" if html else "record",
        data=html.encode("utf-8") if html else None,
        text=None if html else text,
        url=_value(row, cols, "url"),
        title=fix_mojibake(_value(row, cols, "title") or "") or None,
        author=_value(row, cols, "author"),
        published_at=when.at if when else None,
        language=_value(row, cols, "language"),
        source=_value(row, cols, "source"),
        date_precision=when.precision if when else None,
        date_source="record" if when else None,
        date_raw=published_raw,
        date_problem=why,
    )
    return item


# A JSON record nested deeper than this is refused: no export nests past a few dozen levels,
# and Python's parser raises RecursionError somewhere near 1,000 (depending on the stack).
MAX_DEPTH = 200

_SAMPLE = 1 << 20  # bytes read to choose a container's encoding; the rest is streamed


def _open_text(path: Path):
    """Open a record container as text, streaming, in the encoding its first MiB shows.

    Returns None for an empty file. Undecodable bytes later on become U+FFFD rather than
    stopping the stream: one bad record must not cost the others.
    """
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE)
    if not sample.strip():
        return None
    if len(sample) == _SAMPLE and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]  # never cut a multi-byte character
    try:
        _text, enc = decode(sample)
    except DecodeError as exc:
        raise InputError(str(exc)) from exc
    # With a BOM, name the codec that strips it; "utf-32" must be tested before "utf-16"
    # because the UTF-32-LE BOM starts with the UTF-16-LE one.
    if sample.startswith(codecs.BOM_UTF8):
        enc = "utf-8-sig"
    elif sample[:4] in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE):
        enc = "utf-32"
    elif sample[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        enc = "utf-16"
    return path.open("r", encoding=enc, errors="replace", newline="")


def _records(path: Path, kind: str, mapping: dict[str, str], max_bytes: int) -> Iterator[RawItem | Problem]:
    fh = _open_text(path)
    if fh is None:
        yield Problem(str(path), "skipped", "empty file")
        return
    with fh:
        yield from (_jsonl if kind == "jsonl" else _csv)(fh, path, mapping, max_bytes)


def _depth(value) -> int:
    """How deeply a parsed JSON value nests (iterative: a hostile value cannot exhaust the stack)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        v, d = todo.pop()
        if isinstance(v, dict | list):
            deepest = max(deepest, d)
            if d <= MAX_DEPTH:
                todo.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def _jsonl(fh, path: Path, mapping: dict[str, str], max_bytes: int) -> Iterator[RawItem | Problem]:
    for n, line in enumerate(fh, 1):
        if not line.strip():
            continue
        origin = f"{path}#{n}"
        try:
            yield _jsonl_record(line, origin, mapping, max_bytes)
        except Exception as exc:  # one record's surprise costs that record, not the file
            yield Problem(origin, "failed", f"{type(exc).__name__}: {exc}")


def _jsonl_record(line: str, origin: str, mapping: dict[str, str], max_bytes: int) -> RawItem | Problem:
    if len(line) > max_bytes:
        return Problem(origin, "failed", f"line is over the {max_bytes / 2**20:.3g} MB limit")
    try:
        row = json.loads(line)
    except RecursionError:
        return Problem(origin, "failed", f"nesting deeper than {MAX_DEPTH}")
    except ValueError as exc:
        return Problem(origin, "failed", f"invalid JSON: {getattr(exc, 'msg', exc)}")
    if not isinstance(row, dict):
        return Problem(origin, "failed", "JSON line is not an object")
    if _depth(row) > MAX_DEPTH:  # the same answer whatever the parser's stack allowed
        return Problem(origin, "failed", f"nesting deeper than {MAX_DEPTH}")
    try:
        cols = resolve_columns(list(row), mapping)
    except InputError as exc:
        return Problem(origin, "failed", str(exc))
    return record_item(row, cols, origin, max_bytes)


def _csv(fh, path: Path, mapping: dict[str, str], max_bytes: int) -> Iterator[RawItem | Problem]:
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    csv.field_size_limit(max_bytes)
    reader = csv.DictReader(fh, dialect=dialect)
    try:
        cols = resolve_columns(list(reader.fieldnames or []), mapping)
        for n, row in enumerate(reader, 2):
            try:
                item = record_item(row, cols, f"{path}#{n}", max_bytes)
            except Exception as exc:  # one row's surprise costs that row, not the file
                item = Problem(f"{path}#{n}", "failed", f"{type(exc).__name__}: {exc}")
            yield item
    except csv.Error as exc:
        raise InputError(f"malformed CSV at line {reader.line_num}: {exc}") from exc
