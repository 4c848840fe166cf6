"""The analyst's registry of actors and sources (YAML or CSV), and matching documents to
sources by explicit key, feed, Telegram channel or web domain."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from narratrace.errors import InvalidInput
from narratrace.store.models import Actor, ActorAlias, Source, SourceLocator
from narratrace.store.safe_yaml import load_yaml


class RegistryError(InvalidInput):
    pass


SOURCE_FIELDS = ("id", "name", "actor", "audience", "country", "language", "kind", "domains", "feeds", "channels")


def load_registry(path: Path) -> dict:
    """Read YAML ({actors: [...], sources: [...]}) or CSV (one source per row)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{path}: cannot read ({exc})") from exc
    if path.suffix.lower() in (".csv", ".tsv"):
        reader = csv.DictReader(io.StringIO(raw), dialect="excel-tab" if path.suffix.lower() == ".tsv" else "excel")
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise RegistryError(f"{path}: CSV needs at least an 'id' column (columns: {', '.join(SOURCE_FIELDS)})")
        sources = []
        for row in reader:
            row = {k: (v or "").strip() for k, v in row.items() if k}
            for key in ("domains", "feeds", "channels"):
                row[key] = [x.strip() for x in row.get(key, "").replace(",", ";").split(";") if x.strip()]
            sources.append(row)
        return {"actors": [], "sources": sources}
    data = load_yaml(raw, path, RegistryError) or {}
    if not isinstance(data, dict):
        raise RegistryError(f"{path}: expected a mapping with 'actors' and/or 'sources'")
    return {"actors": data.get("actors") or [], "sources": data.get("sources") or []}


def _actor(session: Session, key: str) -> Actor:
    actor = session.scalar(select(Actor).where(Actor.key == key))
    if actor is None:
        actor = Actor(key=key, name=key)
        session.add(actor)
        session.flush()
    return actor


def apply_registry(session: Session, data: dict) -> dict[str, int]:
    """Upsert actors, aliases, sources and locators. Returns counts for the summary."""
    counts = {"actors": 0, "sources": 0, "locators": 0}
    for i, a in enumerate(data["actors"]):
        if not isinstance(a, dict) or not a.get("id"):
            raise RegistryError(f"actor #{i + 1} has no 'id'")
        actor = _actor(session, str(a["id"]))
        actor.name = str(a.get("name") or actor.name)
        actor.kind = a.get("kind") or actor.kind
        actor.country = a.get("country") or actor.country
        actor.description = a.get("description") or actor.description
        have = {al.alias for al in actor.aliases}
        for alias in a.get("aliases") or []:
            if str(alias) not in have:
                actor.aliases.append(ActorAlias(alias=str(alias)))
                have.add(str(alias))
        counts["actors"] += 1
    for i, s in enumerate(data["sources"]):
        if not isinstance(s, dict) or not s.get("id"):
            raise RegistryError(f"source #{i + 1} has no 'id'")
        key = str(s["id"])
        src = session.scalar(select(Source).where(Source.key == key))
        if src is None:
            src = Source(key=key, name=str(s.get("name") or key))
            session.add(src)
        src.name = str(s.get("name") or src.name)
        src.actor = _actor(session, str(s["actor"])) if s.get("actor") else None
        for fld in ("audience", "country", "language", "kind"):
            if s.get(fld):
                setattr(src, fld, str(s[fld]))
        session.flush()
        for kind, values in (("domain", s.get("domains")), ("feed", s.get("feeds")), ("channel", s.get("channels"))):
            for v in values or []:
                value = normalize_domain(str(v)) if kind == "domain" else str(v).strip()
                loc = session.scalar(select(SourceLocator).where(SourceLocator.kind == kind, SourceLocator.value == value))
                if loc is None:
                    src.locators.append(SourceLocator(kind=kind, value=value))
                    counts["locators"] += 1
                elif loc.source_id != src.id:
                    raise RegistryError(f"{kind} '{value}' is already registered to another source")
        counts["sources"] += 1
    return counts


def normalize_domain(value: str) -> str:
    host = urlsplit(value).hostname if "://" in value else value.split("/")[0]
    host = (host or "").lower().strip(".")
    return host[4:] if host.startswith("www.") else host


@dataclass
class SourceMatcher:
    by_key: dict[str, int]
    by_domain: dict[str, int]
    by_feed: dict[str, int]
    by_channel: dict[str, int]

    @classmethod
    def load(cls, session: Session) -> SourceMatcher:
        m = cls({}, {}, {}, {})
        for key, sid in session.execute(select(Source.key, Source.id)):
            m.by_key[key] = sid
        for kind, value, sid in session.execute(select(SourceLocator.kind, SourceLocator.value, SourceLocator.source_id)):
            {"domain": m.by_domain, "feed": m.by_feed, "channel": m.by_channel}.get(kind, {})[value] = sid
        return m

    def match(self, *, explicit: str | None = None, feed: str | None = None, channel: str | None = None,
              urls: tuple[str | None, ...] = ()) -> int | None:
        """Explicit key beats feed beats channel beats domain (longest registered suffix)."""
        if explicit:
            if explicit not in self.by_key:
                raise RegistryError(f"unknown source '{explicit}' (import it with `narratrace sources import`)")
            return self.by_key[explicit]
        if feed and feed in self.by_feed:
            return self.by_feed[feed]
        if channel and channel in self.by_channel:
            return self.by_channel[channel]
        for url in urls:
            if not url:
                continue
            host = normalize_domain(url)
            parts = host.split(".")
            for i in range(len(parts) - 1):
                sid = self.by_domain.get(".".join(parts[i:]))
                if sid is not None:
                    return sid
        return None
