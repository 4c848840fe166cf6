"""The analyst's registry of actors and sources (YAML or CSV), and matching documents to
sources by explicit key, feed, Telegram channel or web domain (optionally with a path).

A registry is checked whole before anything is written, and every mistake names the file and
line it is on: an audience outside ``AUDIENCES``, a kind that misspells a known kind, an actor
defined nowhere, an id given twice, a domain/feed/channel claimed by two sources (in the file or
against what the workspace already holds), a misspelt field name.

Domains: ``site.example`` matches the site and its subdomains; ``site.example/fa`` matches only
pages under ``/fa`` (whole path segments: not ``/farsi``), for sites that serve several outlets
(a Persian and an English edition) from one host. The most specific host wins, then the longest
registered path under it.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from narratrace.errors import InvalidInput
from narratrace.filters import AUDIENCES, did_you_mean, unknown
from narratrace.store.models import Actor, ActorAlias, Source, SourceLocator
from narratrace.store.safe_yaml import load_yaml_node


class RegistryError(InvalidInput):
    pass


SOURCE_FIELDS = ("id", "name", "actor", "audience", "country", "language", "kind", "domains", "feeds", "channels")
ACTOR_FIELDS = ("id", "name", "kind", "country", "description", "aliases")
LOCATOR_FIELDS = (("domain", "domains"), ("feed", "feeds"), ("channel", "channels"))
# Fields the importer reads past without storing (notes for colleagues); any other unknown field
# that is a near-miss of a real one ("audiance") is a typo and refused.
EXTRA_FIELDS = ("description", "note", "notes", "comment", "url", "homepage", "website")

# A source's ``kind`` is descriptive text ("state news agency abroad", "aggregator (AFP copy)"),
# so it is checked by its words: it must contain one of these kinds of outlet. Built from the
# kinds used in the demo registry and in campaign-dev's 87-source registry (all of which pass)
# plus the common kinds of outlet and account an analyst registers; a kind with none of them is
# refused with the closest word ("brodcaster" → "broadcaster").
KIND_WORDS = frozenset("""
    account agency aggregator archive blog bot broadcaster bulletin channel daily digest embassy forum
    foundation government independent institute journal magazine media ministry monitor movement network
    newsletter newspaper ngo office official opposition organisation organization outlet page party
    podcast portal press publisher radio service site station tank television tv university website weekly
    wire group profile feed paper
""".split())
_WORDS = re.compile(r"[^\W\d_]+")
_HOST = re.compile(r"[\w.-]+")
_MAX_PATH_SEGMENTS = 8  # a registered path deeper than this is refused: an outlet is a site section


@dataclass
class _Lines:
    """Where each entry and field of a registry is, for messages ("sources.yaml:14: …")."""

    origin: str
    entries: dict[tuple[str, int], int] = field(default_factory=dict)  # (section, i) → line
    fields: dict[tuple, int] = field(default_factory=dict)  # (section, i, field[, j]) → line

    def at(self, section: str, i: int, *key) -> str:
        line = self.fields.get((section, i, *key)) or self.entries.get((section, i))
        return f"{self.origin}:{line}" if line else f"{self.origin}: {section[:-1]} #{i + 1}"


def load_registry(path: Path) -> dict:
    """Read YAML ({actors: [...], sources: [...]}) or CSV (one source per row). The result keeps
    where each entry is (``lines``) so that ``apply_registry`` can name the file and line."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{path}: cannot read ({exc})") from exc
    lines = _Lines(str(path))
    if path.suffix.lower() in (".csv", ".tsv"):
        reader = csv.DictReader(io.StringIO(raw), dialect="excel-tab" if path.suffix.lower() == ".tsv" else "excel")
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise RegistryError(f"{path}: CSV needs at least an 'id' column (columns: {', '.join(SOURCE_FIELDS)})")
        sources = []
        for row in reader:
            lines.entries[("sources", len(sources))] = reader.line_num
            row = {k: (v or "").strip() for k, v in row.items() if k}
            for key in ("domains", "feeds", "channels"):
                row[key] = [x.strip() for x in row.get(key, "").replace(",", ";").split(";") if x.strip()]
            sources.append({k: v for k, v in row.items() if v not in ("", [])} | {"id": row.get("id", "")})
        return {"actors": [], "sources": sources, "lines": lines}
    root, data = load_yaml_node(raw, path, RegistryError)
    data = data or {}
    if not isinstance(data, dict):
        raise RegistryError(f"{path}: expected a mapping with 'actors' and/or 'sources'")
    for key in data:
        if key not in ("actors", "sources"):
            raise RegistryError(f"{path}: unknown top-level key '{key}'{did_you_mean(str(key), ('actors', 'sources'))} "
                                "(a registry has 'actors' and 'sources')")
    for section in ("actors", "sources"):
        if data.get(section) is not None and not isinstance(data[section], list):
            raise RegistryError(f"{path}: '{section}' must be a list of entries ('- id: …')")
    _yaml_lines(root, lines)
    return {"actors": data.get("actors") or [], "sources": data.get("sources") or [], "lines": lines}


def _yaml_lines(root, lines: _Lines) -> None:
    if not isinstance(root, yaml.MappingNode):
        return
    for k, v in root.value:
        if not (isinstance(k, yaml.ScalarNode) and k.value in ("actors", "sources") and isinstance(v, yaml.SequenceNode)):
            continue
        for i, item in enumerate(v.value):
            lines.entries[(k.value, i)] = item.start_mark.line + 1
            if not isinstance(item, yaml.MappingNode):
                continue
            for fk, fv in item.value:
                if not isinstance(fk, yaml.ScalarNode):
                    continue
                lines.fields[(k.value, i, fk.value)] = fk.start_mark.line + 1
                if isinstance(fv, yaml.SequenceNode):
                    for j, el in enumerate(fv.value):
                        lines.fields[(k.value, i, fk.value, j)] = el.start_mark.line + 1


def _as_list(value, where: str, name: str) -> list[str]:
    """A list field: a list of scalars, or one scalar (``domains: site.example``)."""
    if value is None:
        return []
    if isinstance(value, str | int | float):
        return [str(value)]
    if not isinstance(value, list) or not all(isinstance(x, str | int | float) for x in value):
        raise RegistryError(f"{where}: '{name}' must be a list of values")
    return [str(x).strip() for x in value if str(x).strip()]


def _check_fields(entry: dict, known: tuple[str, ...], where, what: str) -> None:
    for key in entry:
        k = str(key)
        if k in known or k in EXTRA_FIELDS:
            continue
        hint = did_you_mean(k, known)
        if hint:
            raise RegistryError(f"{where(k)}: unknown field '{k}' in {what}{hint}")


def check_kind(kind: str) -> str | None:
    """None when ``kind`` names a known kind of outlet (any of its words is in KIND_WORDS,
    parenthesised qualifiers aside), else the message for it."""
    words = [w.casefold() for w in _WORDS.findall(re.sub(r"\([^)]*\)", " ", kind))]
    if any(w in KIND_WORDS for w in words) or not re.search(r"[A-Za-z]", kind):
        return None  # (a kind written in another script is not checked: the vocabulary is English)
    # the misspelt word is the one closest to a known word; suggest the kind with it replaced
    scored = [(difflib.SequenceMatcher(None, w, c).ratio(), w, c) for w in set(words)
              for c in difflib.get_close_matches(w, KIND_WORDS, n=1, cutoff=0.6)]
    best = ""
    if scored:
        _, w, c = max(scored)
        best = f"; did you mean '{re.sub(re.escape(w), c, kind, count=1, flags=re.IGNORECASE)}'?"
    return (f"unknown kind '{kind[:80]}'{best} (a kind names a kind of outlet: a word such as "
            "broadcaster, newspaper, news agency, site, blog, channel, aggregator, state media, independent)")


def _entry_id(entry, section: str, noun: str, i: int, seen: dict[str, int], lines) -> str:
    """The entry's id, refused when missing or given twice in the file (both lines named)."""
    where = lines.at(section, i)
    if not isinstance(entry, dict) or not entry.get("id"):
        raise RegistryError(f"{where}: {noun} #{i + 1} has no 'id'")
    key = str(entry["id"]).strip()
    if key in seen:
        raise RegistryError(f"{where}: {noun} id '{key}' is given twice (first at {lines.at(section, seen[key])})")
    seen[key] = i
    return key


def check_registry(data: dict, known_actors: set[str], known_locators: dict[tuple[str, str], str]) -> dict:
    """Every mistake in ``data`` (from ``load_registry``) as a RegistryError naming file and line,
    before anything is written. ``known_actors``: actor keys already stored; ``known_locators``:
    ``{(kind, value): source key}`` already stored. Returns the entries, normalised."""
    lines: _Lines = data.get("lines") or _Lines("registry")
    actors, sources = [], []
    seen_actor: dict[str, int] = {}
    for i, a in enumerate(data["actors"]):
        key = _entry_id(a, "actors", "actor", i, seen_actor, lines)
        _check_fields(a, ACTOR_FIELDS, lambda f, i=i: lines.at("actors", i, f), f"actor '{key}'")
        raw_aliases = a.get("aliases")
        if isinstance(raw_aliases, dict):  # per language, as in the entities registry: {fa: [...]}
            raw_aliases = [x for v in raw_aliases.values() for x in ([v] if isinstance(v, str) else v or [])]
        aliases = _as_list(raw_aliases, lines.at("actors", i, "aliases"), "aliases")
        actors.append({**a, "id": key, "aliases": aliases})
    defined = known_actors | set(seen_actor)
    seen_source: dict[str, int] = {}
    claimed: dict[tuple[str, str], tuple[str, str]] = {}  # (kind, value) → (source key, where)
    for i, s in enumerate(data["sources"]):
        key = _entry_id(s, "sources", "source", i, seen_source, lines)

        def at(*f, i=i):
            return lines.at("sources", i, *f)

        _check_fields(s, SOURCE_FIELDS, at, f"source '{key}'")
        entry = {"id": key, "name": s.get("name")}
        for fld in ("country", "language"):
            if s.get(fld) not in (None, ""):
                entry[fld] = str(s[fld]).strip()
        if s.get("audience") not in (None, ""):
            aud = str(s["audience"]).strip().lower()
            if aud not in AUDIENCES:
                raise RegistryError(f"{at('audience')}: {unknown('audience', s['audience'], AUDIENCES)} "
                                    f"for source '{key}'")
            entry["audience"] = aud
        if s.get("kind") not in (None, ""):
            kind = str(s["kind"]).strip()
            problem = check_kind(kind)
            if problem:
                raise RegistryError(f"{at('kind')}: {problem}, for source '{key}'")
            entry["kind"] = kind
        if s.get("actor") not in (None, ""):
            actor = str(s["actor"]).strip()
            if actor not in defined:
                raise RegistryError(f"{at('actor')}: {unknown('actor', actor, defined, listed=False)} for source "
                                    f"'{key}': define it under 'actors:' in this file, or import a registry that does")
            entry["actor"] = actor
        for kind, plural in LOCATOR_FIELDS:
            values = []
            for j, v in enumerate(_as_list(s.get(plural), at(plural), plural)):
                here = at(plural, j)
                value = normalize_locator(v, here) if kind == "domain" else v
                if value in values:
                    continue  # the same domain twice in one entry: harmless
                other = claimed.get((kind, value))
                if other and other[0] != key:
                    raise RegistryError(f"{here}: {kind} '{value}' of source '{key}' is also given to source "
                                        f"'{other[0]}' ({other[1]}); a {kind} belongs to one source")
                stored = known_locators.get((kind, value))
                if stored and stored != key:
                    raise RegistryError(f"{here}: {kind} '{value}' is already registered to another source "
                                        f"('{stored}' in this workspace)")
                claimed[(kind, value)] = (key, here)
                values.append(value)
            entry[plural] = values
        sources.append(entry)
    return {"actors": actors, "sources": sources}


def apply_registry(session: Session, data: dict) -> dict[str, int]:
    """Check (``check_registry``), then upsert actors, aliases, sources and locators. Returns
    counts for the summary."""
    known_actors = set(session.scalars(select(Actor.key)))
    known_locators = {(k, v): key for k, v, key in session.execute(
        select(SourceLocator.kind, SourceLocator.value, Source.key).join(Source, SourceLocator.source_id == Source.id))}
    checked = check_registry(data, known_actors, known_locators)
    counts = {"actors": 0, "sources": 0, "locators": 0}
    for a in checked["actors"]:
        actor = session.scalar(select(Actor).where(Actor.key == a["id"]))
        if actor is None:
            actor = Actor(key=a["id"], name=a["id"])
            session.add(actor)
        actor.name = str(a.get("name") or actor.name)
        actor.kind = a.get("kind") or actor.kind
        actor.country = a.get("country") or actor.country
        actor.description = a.get("description") or actor.description
        have = {al.alias for al in actor.aliases}
        for alias in a["aliases"]:
            if alias not in have:
                actor.aliases.append(ActorAlias(alias=alias))
                have.add(alias)
        counts["actors"] += 1
    session.flush()
    for s in checked["sources"]:
        src = session.scalar(select(Source).where(Source.key == s["id"]))
        if src is None:
            src = Source(key=s["id"], name=str(s.get("name") or s["id"]))
            session.add(src)
        src.name = str(s.get("name") or src.name)
        src.actor = session.scalar(select(Actor).where(Actor.key == s["actor"])) if s.get("actor") else None
        for fld in ("audience", "country", "language", "kind"):
            if s.get(fld):
                setattr(src, fld, s[fld])
        session.flush()
        for kind, plural in LOCATOR_FIELDS:
            for value in s[plural]:
                if (kind, value) not in known_locators:
                    src.locators.append(SourceLocator(kind=kind, value=value))
                    known_locators[(kind, value)] = s["id"]
                    counts["locators"] += 1
        counts["sources"] += 1
    return counts


def normalize_locator(value: str, where: str = "domain") -> str:
    """A registered domain as stored: lower-case host without ``www.``, then any path
    (``Site.example/FA/`` → ``site.example/fa``). RegistryError naming ``where`` when it is no host."""
    text = str(value).strip()
    parts = urlsplit(text if "://" in text else "//" + text)
    try:
        host = (parts.hostname or "").strip(".")
    except ValueError:
        host = ""
    if host.startswith("www."):
        host = host[4:]
    if not host or not _HOST.fullmatch(host) or "." not in host and host != "localhost":
        raise RegistryError(f"{where}: '{text[:80]}' is not a domain (write it as site.example or site.example/section)")
    segments = _segments(parts.path)
    if len(segments) > _MAX_PATH_SEGMENTS:
        raise RegistryError(f"{where}: '{text[:80]}' has a path deeper than {_MAX_PATH_SEGMENTS} folders")
    return host + "".join("/" + s for s in segments)


def _segments(path: str) -> list[str]:
    return [s for s in unquote(path or "").lower().split("/") if s]


def normalize_domain(value: str) -> str:
    """The host of a URL or domain, lower case, without ``www.`` (no path)."""
    host = urlsplit(value).hostname if "://" in value else value.split("/")[0]
    host = (host or "").lower().strip(".")
    return host[4:] if host.startswith("www.") else host


def url_host_path(url: str) -> tuple[str, list[str]]:
    """(host as ``normalize_domain`` gives it, lower-cased decoded path segments) of a URL."""
    try:
        parts = urlsplit(url if "://" in url else "//" + url)
        host = parts.hostname or ""
    except ValueError:
        return "", []
    host = host.lower().strip(".")
    return (host[4:] if host.startswith("www.") else host), _segments(parts.path)


@dataclass
class SourceMatcher:
    by_key: dict[str, int]
    by_domain: dict[str, int]
    by_feed: dict[str, int]
    by_channel: dict[str, int]
    path_depth: int = 0  # the deepest registered domain path, in segments
    _folded: dict[str, int] | None = None  # channel names, lower case, for matching URL paths

    @classmethod
    def load(cls, session: Session) -> SourceMatcher:
        m = cls({}, {}, {}, {})
        for key, sid in session.execute(select(Source.key, Source.id)):
            m.by_key[key] = sid
        for kind, value, sid in session.execute(select(SourceLocator.kind, SourceLocator.value, SourceLocator.source_id)):
            {"domain": m.by_domain, "feed": m.by_feed, "channel": m.by_channel}.get(kind, {})[value] = sid
            if kind == "domain":
                m.path_depth = max(m.path_depth, value.count("/"))
        return m

    def match(self, *, explicit: str | None = None, feed: str | None = None, channel: str | None = None,
              urls: tuple[str | None, ...] = ()) -> int | None:
        """Explicit key beats feed beats channel beats domain (longest registered host suffix,
        then the longest registered path under it)."""
        if explicit:
            if explicit not in self.by_key:
                raise RegistryError(f"{unknown('source', explicit, self.by_key, listed=False)} "
                                    "(import it with `narratrace sources import`)")
            return self.by_key[explicit]
        if feed and feed in self.by_feed:
            return self.by_feed[feed]
        if channel and channel in self.by_channel:
            return self.by_channel[channel]
        for url in urls:
            sid = self.match_url(url) if url else None
            if sid is not None:
                return sid
        for url in urls:
            sid = self.match_channel_url(url) if url else None
            if sid is not None:
                return sid
        return None

    def match_channel_url(self, url: str) -> int | None:
        """A registered channel named in the first two path segments of a URL on a host no domain
        matched: messaging and video platforms host every channel under one domain
        (``t.me/<name>/12``, ``t.me/s/<name>``, ``<host>/s/<name>/…``), so the name is the locator."""
        if not self.by_channel:
            return None
        by_name = self._channels_folded()
        for segment in url_host_path(url)[1][:2]:
            sid = by_name.get(segment.lstrip("@"))
            if sid is not None:
                return sid
        return None

    def _channels_folded(self) -> dict[str, int]:
        if self._folded is None:
            self._folded = {name.lower().lstrip("@"): sid for name, sid in self.by_channel.items()}
        return self._folded

    def match_url(self, url: str) -> int | None:
        host, segments = url_host_path(url)
        parts = host.split(".")
        segments = segments[:self.path_depth]
        for i in range(len(parts) - 1):
            base = ".".join(parts[i:])
            for k in range(len(segments), -1, -1):
                sid = self.by_domain.get(base + "".join("/" + s for s in segments[:k]))
                if sid is not None:
                    return sid
        return None
