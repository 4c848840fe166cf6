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

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta

from narratrace.errors import InvalidInput

_DAY_END = timedelta(days=1) - timedelta(microseconds=1)

# The audiences a source can address: what cross-audience analysis splits on, so a closed set
# (the sources registry refuses anything else, and so does a filter). "mixed" is an outlet that
# addresses several at once.
AUDIENCES = ("domestic", "foreign", "diaspora", "mixed")

# A language filter is an ISO 639 code (``en``, ``fa``, ``fas``), optionally with a BCP 47
# subtag (``zh-Hant``); documents store what the language identifier returns (ISO 639-1).
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")
# Language names people type instead of codes, for the hint (the project's languages first).
_LANGUAGE_NAMES = {"english": "en", "persian": "fa", "farsi": "fa", "arabic": "ar", "french": "fr",
                   "german": "de", "russian": "ru", "spanish": "es", "turkish": "tr", "urdu": "ur",
                   "chinese": "zh", "dari": "fa", "pashto": "ps", "kurdish": "ku", "hebrew": "he"}


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """"; did you mean 'x'?" for the closest choice (difflib, cutoff 0.6: catches one or two
    swapped or missing letters in words of 5+ letters, as in 'foriegn'), else ""."""
    close = difflib.get_close_matches(str(value).casefold(), {str(c).casefold(): c for c in choices}, n=1, cutoff=0.6)
    if not close:
        return ""
    original = {str(c).casefold(): c for c in choices}[close[0]]
    return f"; did you mean '{original}'?"


def unknown(what: str, value: str, choices: Iterable[str], *, listed: bool = True) -> str:
    """The one wording of "this value is not one of those": names the value, the closest choice,
    and (``listed``) every choice when there are few."""
    choices = sorted(set(choices))
    msg = f"unknown {what} '{str(value)[:80]}'{did_you_mean(value, choices)}"
    if listed and choices and len(choices) <= 12:
        msg += f" ({what}s: {', '.join(choices)})"
    elif not choices:
        msg += f" (no {what}s registered)"
    return msg


def check_audience(value: str) -> str:
    """``value`` as a known audience (case-insensitive); InvalidInput naming it otherwise."""
    v = str(value).strip().lower()
    if v not in AUDIENCES:
        raise InvalidInput(unknown("audience", value, AUDIENCES))
    return v


def check_language(value: str) -> str:
    """``value`` as a language code (lower-cased; ``pt-BR`` → ``pt-br``); InvalidInput otherwise."""
    v = str(value).strip().lower().replace("_", "-")
    if not _LANGUAGE.fullmatch(v):
        hint = _LANGUAGE_NAMES.get(v)
        raise InvalidInput(f"language '{str(value)[:80]}' is not a language code"
                           + (f"; did you mean '{hint}'?" if hint else "")
                           + " (use ISO 639 codes: en, fa, ar, …)")
    return v


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
        if actor:
            changes["actor"] = str(actor)
        if audience:
            changes["audience"] = check_audience(audience)
        if language:
            changes["language"] = check_language(language)
        if since not in (None, ""):
            changes["since"] = parse_bound(since, "since")
        if until not in (None, ""):
            changes["until"] = parse_bound(until, "until", end=True)
        out = replace(f, **changes) if changes else f
        if out.since is not None and out.until is not None and out.since > out.until:
            raise InvalidInput(f"since ({out.since.isoformat()}) is after until ({out.until.isoformat()}): "
                               "nothing can match; swap them?")
        return out

    def check_known(self, *, sources: Iterable[str], actors: Iterable[str]) -> Filters:
        """This Filters, after checking that its source and actor keys are registered (``sources``,
        ``actors``: the workspace's keys). A typo is an InvalidInput with the closest key, never an
        empty answer that looks like "no matches". Returns self, for chaining."""
        if self.source:
            known = set(sources)
            for key in self.source:
                if key not in known:
                    raise InvalidInput(unknown("source", key, known, listed=False))
        if self.actor:
            known = set(actors)
            if self.actor not in known:
                raise InvalidInput(unknown("actor", self.actor, known, listed=False))
        return self

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
    ``end`` its last. Strings are ISO 8601: YYYY-MM-DD, with HH:MM[:SS], with a zone."""
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
    # ISO 8601 only: a bound the analyst types must mean one instant; "01/03/2026" could be
    # January or March, and the lenient reader that dates documents would guess
    try:
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text))
    except (ValueError, OverflowError):  # OverflowError: year 1 at +14:00 and the like
        raise InvalidInput(f"{name} '{text[:60]}' is not a date: use YYYY-MM-DD (the whole day, UTC), "
                           "'YYYY-MM-DD HH:MM' (UTC) or an ISO 8601 timestamp with its zone") from None


def _day(d: date, end: bool) -> datetime:
    start = datetime.combine(d, time.min, tzinfo=UTC)
    return start + _DAY_END if end else start


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
