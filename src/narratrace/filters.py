"""One ``Filters`` object for every read that narrows the record: built once at the edge (CLI option,
API query parameter, dashboard form, Python keyword) and handed down unchanged, so a filter means
the same thing everywhere.

Time bounds, in one meaning (docs/decisions.md, "One Filters object"):

- ``since`` is inclusive; ``until`` is inclusive.
- A bare date (``2026-03-01``) means that whole day in UTC: ``since`` its first instant,
  ``until`` its last (so ``until=2026-03-01`` keeps a document published at 23:59:59 that day).
- A timestamp without a zone is UTC; one with a zone is converted. Bounds are stored as
  timezone-aware UTC datetimes; the store compares them with its naive-UTC columns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta

from narratrace.clean.text import parse_date
from narratrace.errors import InvalidInput

_DAY_END = timedelta(days=1) - timedelta(microseconds=1)


@dataclass(frozen=True)
class Filters:
    """Which documents a read considers.

    - ``source``: only these source keys (any of them);
    - ``actor``: only documents of sources owned by this actor key;
    - ``audience``: only sources with this audience (``domestic``, ``foreign``, …);
    - ``language``: only documents in this language (``en``, ``fa``, …);
    - ``since`` / ``until``: published within these inclusive bounds (see the module docstring).
    """

    source: tuple[str, ...] = ()
    actor: str | None = None
    audience: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def of(cls, base: Filters | None = None, *, source: str | Iterable[str] | None = None, actor: str | None = None,
           audience: str | None = None, language: str | None = None, since: str | date | datetime | None = None,
           until: str | date | datetime | None = None) -> Filters:
        """Filters from loose values (strings from a form or the command line, dates, datetimes),
        on top of ``base``. Empty strings mean "no filter". Raises InvalidInput naming the field."""
        f = base or cls()
        changes: dict = {}
        if source:
            changes["source"] = (source,) if isinstance(source, str) else tuple(x for x in source if x)
        for name, value in (("actor", actor), ("audience", audience), ("language", language)):
            if value:
                changes[name] = str(value)
        if since not in (None, ""):
            changes["since"] = parse_bound(since, "since")
        if until not in (None, ""):
            changes["until"] = parse_bound(until, "until", end=True)
        return replace(f, **changes) if changes else f

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict:
        """The set filters, as JSON-ready values (for echoing a request back)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v:
                out[f.name] = list(v) if isinstance(v, tuple) else v.isoformat() if isinstance(v, datetime) else v
        return out

    # The store keeps published_at as naive UTC (SQLite has no zones); these are what it compares.
    @property
    def since_utc(self) -> datetime | None:
        return None if self.since is None else self.since.astimezone(UTC).replace(tzinfo=None)

    @property
    def until_utc(self) -> datetime | None:
        return None if self.until is None else self.until.astimezone(UTC).replace(tzinfo=None)


def parse_bound(value: str | date | datetime, name: str, *, end: bool = False) -> datetime:
    """A time bound as an aware UTC datetime. A bare date is its day's first instant, or with
    ``end`` its last. Strings take the date forms the ingest parser knows (YYYY-MM-DD, with
    HH:MM[:SS], ISO 8601 with a zone, …)."""
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, date):
        return _day(value, end)
    text = str(value).strip()
    try:
        if len(text) == 10:
            return _day(date.fromisoformat(text), end)
    except ValueError:
        pass
    dt = parse_date(text)
    if dt is None:
        raise InvalidInput(f"{name} '{text[:60]}' is not a date: use YYYY-MM-DD (the whole day, UTC), "
                           "'YYYY-MM-DD HH:MM' (UTC) or an ISO 8601 timestamp with its zone")
    return _aware(dt)


def _day(d: date, end: bool) -> datetime:
    start = datetime.combine(d, time.min, tzinfo=UTC)
    return start + _DAY_END if end else start


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
