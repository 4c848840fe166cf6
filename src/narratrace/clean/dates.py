"""Publication dates, in every calendar the record meets: the one date module.

English, Persian and Arabic; Gregorian, Solar Hijri (jdatetime) and lunar Hijri (hijridate,
the Umm al-Qura calendar Arab outlets print); Persian and Arabic-Indic digits; month names of
each language (data below, one table per calendar); weekday prefixes (which also settle an
ambiguous 08.09.2023); times and zones (dateparser's zone table); relative dates ("2 hours ago",
«۲ روز پیش») through dateparser against the crawl time — never against the clock of the
ingest, which would invent a date.

Three entry points:

- ``check_date(value)`` reads one field (a meta tag, a JSON-LD value, a record column): the
  date it holds, or a ``DateError`` that says why not ("month 13 does not exist").
- ``find_dates(text)`` finds every date printed inside a line of text, with its span and label.
- ``header_date(lines)`` chooses the article's own date among the first lines of a text.

Every value is naive UTC (the store's convention) with its precision: ``minute`` (a time was
printed), ``day``, ``month`` or ``year``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone

import hijridate
import jdatetime

from narratrace.errors import InvalidInput

# Bumped whenever a change here can change a stored date: the next ingest of the same material
# re-dates documents dated by an older version (ingest/pipeline.py), adding nothing.
VERSION = 1
PRECISIONS = ("minute", "day", "month", "year")
# Where a document's date came from (document.date_source).
SOURCES = ("given", "record", "meta", "json-ld", "time", "url", "extractor", "byline", "header", "inferred")


class DateError(InvalidInput):
    """A value that was meant as a date and is not one; the message says why."""


@dataclass(frozen=True)
class DateValue:
    at: datetime | None  # naive UTC; None for a day printed without its year (see ``partial``)
    precision: str
    calendar: str = "gregorian"  # gregorian | jalali | hijri
    text: str = ""  # the date as printed
    start: int = 0  # span in the searched string
    end: int = 0
    label: str | None = None  # published | updated | None
    ambiguous: bool = False  # 10/03/2026 read day-first with nothing to confirm it
    partial: tuple[str, int, int] | None = None  # (calendar, month, day) when the year is missing
    today: bool = False  # printed as "today (…)": the writer's own date

    def day(self) -> date | None:
        return self.at.date() if self.at else None


# --- normalisation -------------------------------------------------------------------------

# Persian (U+06F0–9) and Arabic-Indic (U+0660–9) digits → ASCII; Arabic yeh/kaf → Persian
# (Persian typed on Arabic keyboards: فروردين); joiners and bidi marks → spaces, one for one so
# spans keep their offsets.
_NORMAL = str.maketrans({
    **{chr(0x06F0 + i): str(i) for i in range(10)},
    **{chr(0x0660 + i): str(i) for i in range(10)},
    "ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "ٱ": "ا", "آ": "ا",
    "\u200c": " ", "\u200d": " ", "\u200e": " ", "\u200f": " ", "\u00a0": " ", "\u0640": " ",
    "٫": ".", "٬": ",", "،": ",", "\u2009": " ", "\u202f": " ",
})


def normalize(s: str) -> str:
    return s.translate(_NORMAL)


# --- data: month and weekday names per calendar and language --------------------------------

_GREGORIAN = {
    1: "january jan ژانویه ژانویهٔ ینایر کانون الثانی", 2: "february feb فوریه فبرایر شباط",
    3: "march mar مارس اذار", 4: "april apr اوریل ابریل نیسان", 5: "may مه می مایو ایار",
    6: "june jun ژوئن یونیو حزیران", 7: "july jul ژوئیه جولای یولیو تموز",
    8: "august aug اوت اگوست اغسطس اب", 9: "september sept sep سپتامبر سبتمبر ایلول",
    10: "october oct اکتبر اکتوبر تشرین الاول", 11: "november nov نوامبر نوفمبر تشرین الثانی",
    12: "december dec دسامبر دیسمبر کانون الاول",
}
_JALALI = {
    1: "فروردین", 2: "اردیبهشت", 3: "خرداد", 4: "تیر", 5: "مرداد امرداد", 6: "شهریور",
    7: "مهر", 8: "ابان", 9: "اذر", 10: "دی", 11: "بهمن", 12: "اسفند",
}
_HIJRI = {
    1: "محرم", 2: "صفر", 3: "ربیع الاول", 4: "ربیع الثانی ربیع الاخر", 5: "جمادی الاولی جمادی الاول",
    6: "جمادی الثانیه جمادی الاخره جمادی الثانی", 7: "رجب", 8: "شعبان", 9: "رمضان", 10: "شوال",
    11: "ذوالقعده ذو القعده ذی القعده", 12: "ذوالحجه ذو الحجه ذی الحجه",
}
# Names that are also everyday words (Persian می "may"/verb prefix, مه "fog", اب "water",
# تیر "arrow", دی, English "may", "mar"): a month only with both a day and a year beside it.
_WEAK = {"may", "mar", "می", "مه", "اب", "تیر", "دی", "صفر", "jun", "jul", "sep", "oct", "dec", "nov"}

_WEEKDAYS = ("monday mon tuesday tue tues wednesday wed thursday thu thur thurs friday fri saturday sat "
             "sunday sun دوشنبه سه شنبه سهشنبه چهارشنبه پنجشنبه پنج شنبه جمعه شنبه یکشنبه یک شنبه "
             "الاثنین الثلاثاء الاربعاء الخمیس الجمعه السبت الاحد").split()
_WEEKDAY_NUM = {  # Python weekday(): Monday = 0
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3,
    "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
    "دوشنبه": 0, "سه شنبه": 1, "سهشنبه": 1, "چهارشنبه": 2, "پنجشنبه": 3, "پنج شنبه": 3, "جمعه": 4,
    "شنبه": 5, "یکشنبه": 6, "یک شنبه": 6,
    "الاثنین": 0, "الثلاثاء": 1, "الاربعاء": 2, "الخمیس": 3, "الجمعه": 4, "السبت": 5, "الاحد": 6,
}

# Labels in front of a date: the article's own date, or a later edit (never the publication).
_PUBLISHED = r"published|posted|publish date|date|dated|تاریخ انتشار|تاریخ|انتشار|منتشر شده|نشر|تاريخ النشر"
_UPDATED = r"updated|last updated|modified|edited|به ?روز ?رسانی|بروزرسانی|اخرین بروزرسانی|تحدیث|اخر تحدیث"
_TODAY = r"today|امروز|الیوم"


def _names(table: dict[int, str], calendar: str) -> list[tuple[str, int, str]]:
    out = []
    for month, names in table.items():
        words = names.split()
        # multi-word names ("ربیع الاول", "کانون الثانی", "تشرین الاول") are pairs of words
        i = 0
        while i < len(words):
            if i + 1 < len(words) and words[i + 1].startswith("ال") and not words[i].startswith("ال"):
                out.append((f"{words[i]} {words[i + 1]}", month, calendar))
                i += 2
            else:
                out.append((words[i], month, calendar))
                i += 1
    return out


_MONTHS: dict[str, tuple[int, str]] = {}
for _name, _m, _cal in _names(_GREGORIAN, "gregorian") + _names(_JALALI, "jalali") + _names(_HIJRI, "hijri"):
    _MONTHS.setdefault(_name, (_m, _cal))


def _alt(words) -> str:
    # longest first, so "ابان" is not read as "اب"; a space inside a name may be spelled any way
    return "|".join(re.escape(w).replace(r"\ ", r"\s*") for w in sorted(words, key=len, reverse=True))


_MONTH = rf"(?P<mon>{_alt(_MONTHS)})(?:\.|\s*ماه)?"
_MONTH2 = _MONTH.replace("?P<mon>", "?P<mon2>")
_B = r"(?<![\w])"  # a word boundary that works in Persian (\b does too, but not before digits glued to letters)
_E = r"(?![\w])"
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th|ام|م)?"
_YEAR = r"(?P<y>\d{4})"
_SEP = r"[\s,./\-]*"
_TIME = (r"(?:\s*(?:,|-|–|\||at|T|ساعت|الساعه|،|/)?\s*)(?P<H>\d{1,2})[:：](?P<Mi>\d{2})(?:[:：](?P<S>\d{2}))?(?:\.\d+)?"
         r"(?:\s*(?P<ampm>[ap]\.?\s?m\.?|ق\.?\s?ظ|ب\.?\s?ظ)(?!\w))?")
# Zone names news pages print after a time, in seconds east of UTC. A table here, not
# dateparser's (432 names, +0.16 s at import, measured): an abbreviation that means two zones
# takes the one news pages use (IST: India, as Indian outlets print it; AST: Arabia).
_H = 3600
_ZONES: dict[str, int] = {
    "z": 0, "utc": 0, "gmt": 0, "wet": 0, "bst": _H, "british summer time": _H, "cet": _H, "cest": 2 * _H,
    "eet": 2 * _H, "eest": 3 * _H, "msk": 3 * _H, "ast": 3 * _H, "trt": 3 * _H, "irst": 3 * _H + 1800,
    "irdt": 4 * _H + 1800, "tehran time": 3 * _H + 1800, "وقت تهران": 3 * _H + 1800, "gst": 4 * _H,
    "pkt": 5 * _H, "ist": 5 * _H + 1800, "aft": 4 * _H + 1800, "cst": -6 * _H, "cdt": -5 * _H,
    "est": -5 * _H, "edt": -4 * _H, "mst": -7 * _H, "mdt": -6 * _H, "pst": -8 * _H, "pdt": -7 * _H,
    "hkt": 8 * _H, "sgt": 8 * _H, "jst": 9 * _H, "kst": 9 * _H, "aest": 10 * _H, "aedt": 11 * _H,
}
_ZONE = (r"(?:\s*\(?(?P<tz>[+-]\d{2}:?\d{2}|(?:utc|gmt)\s*[+-]\s*\d{1,2}(?::?\d{2})?|"
         + _alt(k for k in _ZONES if len(k) > 1 or k == "z") + r")\)?(?![\w]))?")

_PATTERNS = [
    # ISO-like numbers first: 2022-10-03, 1404/12/10, 2022-10-03T10:00:00+03:30
    ("ymd", re.compile(rf"(?<![\d/.\-]){_YEAR}(?P<s>[-/.])(?P<m>\d{{1,2}})(?P=s)(?P<d>\d{{1,2}})(?![\d/.\-]\d)", re.I)),
    ("dmy", re.compile(r"(?<![\d/.\-])(?P<a>\d{1,2})(?P<s>[-/.])(?P<b>\d{1,2})(?P=s)(?P<y>\d{4})(?![\d/.\-]\d)", re.I)),
    ("dMy", re.compile(rf"{_B}{_DAY}(?:\s+of)?{_SEP}{_MONTH}{_SEP}{_YEAR}(?!\d)", re.I)),
    ("Mdy", re.compile(rf"{_B}{_MONTH}{_SEP}{_DAY}{_SEP}{_YEAR}(?!\d)", re.I)),
    ("yMd", re.compile(rf"(?<!\d){_YEAR}{_SEP}{_MONTH}{_SEP}(?P<d>\d{{1,2}})(?!\d)", re.I)),
    ("My", re.compile(rf"{_B}{_MONTH}{_SEP}{_YEAR}(?!\d)", re.I)),
    ("dM", re.compile(rf"{_B}{_DAY}\s*{_MONTH}{_E}", re.I)),
    ("Md", re.compile(rf"{_B}{_MONTH}\s*(?P<d>\d{{1,2}})(?!\d|:)", re.I)),
]
_TIME_AFTER = re.compile(_TIME + _ZONE, re.I)
_TIME_BEFORE = re.compile(r"(?P<H>\d{1,2})[:：](?P<Mi>\d{2})(?:[:：](?P<S>\d{2}))?(?:\s*(?P<ampm>[ap]\.?\s?m\.?))?"
                          + _ZONE + r"\s*(?:,|on|-)?\s*$", re.I)
_WEEKDAY_NEAR = re.compile(rf"{_B}(?P<w>{_alt(_WEEKDAYS)}){_E}\.?", re.I)
_LABEL_BEFORE = re.compile(rf"(?:(?P<upd>{_UPDATED})|(?P<pub>{_PUBLISHED})|(?P<today>{_TODAY}))"
                           r"\s*(?:at|on|:|：|-)?\s*\(?\s*$", re.I)
_PREFIX = re.compile(rf"^\s*(?:{_PUBLISHED}|{_UPDATED})\s*(?:at|on)?\s*[:：\-]?\s*", re.I)
_RELATIVE = re.compile(r"\b(ago|yesterday|today|hours?|minutes?|days?|weeks?)\b|پیش|قبل|دیروز|امروز|منذ|امس", re.I)


def _ok_year(y: int, reference: datetime | None) -> bool:
    top = (reference or datetime.now(UTC).replace(tzinfo=None)).year + 1
    return 1800 <= y <= top


def _convert(calendar: str, y: int, m: int, d: int) -> date:
    """One day of a calendar as a Gregorian date; ValueError names what does not exist."""
    if not 1 <= m <= 12:
        raise ValueError(f"month {m} does not exist")
    if not 1 <= d <= 31:
        raise ValueError(f"day {d} does not exist")
    try:
        if calendar == "jalali":
            return jdatetime.date(y, m, d).togregorian()
        if calendar == "hijri":
            return hijridate.Hijri(y, m, d).to_gregorian()
        return date(y, m, d)
    except (ValueError, OverflowError) as exc:
        name = {"jalali": "Solar Hijri ", "hijri": "lunar Hijri "}.get(calendar, "")
        raise ValueError(f"{name}{y}-{m:02d}-{d:02d} does not exist ({exc})") from exc


def _calendar_of_year(y: int, hint: str | None) -> str:
    """Which calendar a printed year belongs to. Solar Hijri years now run 13xx–14xx, lunar Hijri
    14xx: a year below 1300 or above the Gregorian range is not Gregorian; 1300–1430 is read
    Solar Hijri (lunar 1430 is AD 2009, Solar 1430 is AD 2051: only an explicit lunar marker or
    month name says lunar), 1431–1500 lunar Hijri (Solar 1431+ lies after 2052)."""
    if hint in ("jalali", "hijri"):
        return hint
    if y >= 1800:
        return "gregorian"
    if 1300 <= y <= 1430:
        return "jalali"
    if 1431 <= y <= 1500:
        return "hijri"
    return "gregorian"


_HIJRI_MARK = re.compile(r"\s*(?:ه\s*\.?\s*ق|هـ|ه\b|AH\b|قمری)", re.I)
_JALALI_MARK = re.compile(r"\s*(?:ه\s*\.?\s*ش|شمسی|خورشیدی|SH\b)", re.I)


def _zone(tz: str | None) -> timezone | None:
    if not tz:
        return None
    t = tz.strip().lower()
    m = re.fullmatch(r"(?:utc|gmt)?\s*([+-])\s*(\d{1,2}):?(\d{2})?", t)
    if m:
        off = (int(m.group(2)) * 60 + int(m.group(3) or 0)) * (1 if m.group(1) == "+" else -1)
        return timezone(timedelta(minutes=off)) if abs(off) <= 14 * 60 else None
    off = _ZONES.get(re.sub(r"\s+", " ", t))
    return timezone(timedelta(seconds=off)) if off is not None else None


def _with_time(day: date, H: int, Mi: int, S: int, ampm: str | None, tz: str | None) -> datetime:
    if ampm:
        pm = ampm.lower().startswith("p") or ampm.startswith("ب")
        if H == 12:
            H = 0
        if pm:
            H += 12
    dt = datetime(day.year, day.month, day.day, H, Mi, S)
    zone = _zone(tz)
    if zone is not None:
        dt = dt.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    return dt


def _weekday(text: str, start: int, end: int) -> int | None:
    """A weekday printed just before or after the date (within a few characters)."""
    before = text[max(0, start - 14):start]
    after = text[end:end + 14]
    for chunk, last in ((before, True), (after, False)):
        hits = list(_WEEKDAY_NEAR.finditer(chunk))
        if hits:
            w = hits[-1 if last else 0].group("w").lower()
            w = re.sub(r"\s+", " ", w)
            if w in _WEEKDAY_NUM:
                return _WEEKDAY_NUM[w]
    return None


def find_dates(text: str, reference: datetime | None = None, *, day_first: bool | None = None,
               problems: list[str] | None = None) -> list[DateValue]:
    """Every date printed in ``text`` (one line, or a field value), in reading order.

    A form that looks like a date but names a day that does not exist ("32/13/2020",
    «۳۱ اسفند ۱۴۰۳») is not a date: it is left out and its reason appended to ``problems``.
    ``day_first``: how to read 10/03/2026 when nothing else tells (default: day first, as
    most of the world and every Persian and Arabic outlet print it; a weekday printed beside
    the date, or a part above 12, decides before this does).
    """
    s = normalize(text)
    problems = problems if problems is not None else []
    taken: list[tuple[int, int]] = []
    found: list[DateValue] = []
    for kind, rx in _PATTERNS:
        for m in rx.finditer(s):
            a, b = m.span()
            if any(a < y and x < b for x, y in taken):
                continue
            n_problems = len(problems) if problems is not None else 0
            got = _read(kind, m, s, text, reference, day_first, problems)
            if got is None:
                if problems is not None and len(problems) > n_problems:
                    taken.append((a, b))  # «۳۱ اسفند ۱۴۰۳» is no day; "اسفند ۱۴۰۳" must not stand in
                continue
            taken.append((got.start, got.end))
            found.append(got)
    found.sort(key=lambda v: v.start)
    return [replace(v, text=text[v.start:v.end]) for v in found]


def _read(kind: str, m: re.Match, s: str, text: str, reference: datetime | None, day_first: bool | None,
          problems: list[str] | None) -> DateValue | None:
    """One pattern's match as a date (``s`` is ``text`` normalised, offset for offset)."""
    g = m.groupdict()
    hint = None
    if g.get("mon"):
        name = re.sub(r"\s+", " ", g["mon"].lower())
        month, hint = _MONTHS.get(name) or _MONTHS.get(name.replace(" ", ""), (0, None))
        if not month:
            return None
        if kind in ("dM", "Md", "My") and name in _WEAK:
            return None
    end = m.end()
    tail = s[end:end + 12]
    if _HIJRI_MARK.match(tail):
        hint = "hijri"
    elif _JALALI_MARK.match(tail) and hint is None:
        hint = "jalali"
    ambiguous = False
    y = int(g["y"]) if g.get("y") else None
    try:
        if kind == "ymd":
            month, d = int(g["m"]), int(g["d"])
        elif kind == "dmy":
            a, b = int(g["a"]), int(g["b"])
            d, month = (a, b) if (day_first is not False) else (b, a)
            if a > 12 >= b:
                d, month = a, b
            elif b > 12 >= a:
                d, month = b, a
            elif a != b and a <= 12 and b <= 12:
                ambiguous = g["s"] != "."  # 08.09.2023 is day-first everywhere dots are used
        else:
            d = int(g["d"]) if g.get("d") else None
        if y is not None:
            calendar = _calendar_of_year(y, hint)
            if calendar == "gregorian" and not _ok_year(y, reference):
                raise ValueError(f"year {y} is not a plausible publication year")
        else:
            calendar = hint or "gregorian"
        if kind == "My":
            day = _convert(calendar, y, month, 1)
            return DateValue(datetime(day.year, day.month, day.day), "month", calendar,
                             start=m.start(), end=end)
        if y is None:
            if not (1 <= d <= 31):
                return None
            return DateValue(None, "day", calendar, start=m.start(), end=end, partial=(calendar, month, d))
        day = _convert(calendar, y, month, d)
        if ambiguous:
            wd = _weekday(s, m.start(), end)
            if wd is not None and day.weekday() != wd:
                other = _convert(calendar, y, d, month)
                if other.weekday() == wd:
                    day, ambiguous = other, False
            elif wd is not None:
                ambiguous = False
        if calendar == "gregorian" and day > (reference or datetime.now(UTC).replace(tzinfo=None)).date() + timedelta(days=2):
            raise ValueError(f"{day.isoformat()} lies in the future")
    except ValueError as exc:
        if problems is not None:
            problems.append(f"'{text[m.start():m.end()].strip()}': {exc}")
        return None
    precision, at = "day", datetime(day.year, day.month, day.day)
    t = _TIME_AFTER.match(s, end)
    if t and int(t.group("H")) < 24 and int(t.group("Mi")) < 60:
        at = _with_time(day, int(t.group("H")), int(t.group("Mi")), int(t.group("S") or 0), t.group("ampm"), t.group("tz"))
        precision, end = "minute", t.end()
    else:
        tb = _TIME_BEFORE.search(s[max(0, m.start() - 40):m.start()])
        if tb and int(tb.group("H")) < 24 and int(tb.group("Mi")) < 60:
            at = _with_time(day, int(tb.group("H")), int(tb.group("Mi")), int(tb.group("S") or 0),
                            tb.group("ampm"), tb.group("tz"))
            precision = "minute"
    return DateValue(at, precision, calendar, start=m.start(), end=end, ambiguous=ambiguous)


def _labelled(s: str, v: DateValue) -> DateValue:
    """The label just before a date (a weekday or a time may sit between them)."""
    before = normalize(s[max(0, v.start - 60):v.start])
    before = re.sub(rf"(?:{_TIME_BEFORE.pattern})", "", before, flags=re.I)
    before = _WEEKDAY_NEAR.sub("", before).rstrip(" ,.-|(")
    m = _LABEL_BEFORE.search(before + " ")
    if not m:
        return v
    if m.group("upd"):
        return replace(v, label="updated")
    if m.group("today"):
        return replace(v, today=True)
    return replace(v, label="published")


def resolve_partial(v: DateValue, reference: datetime) -> DateValue | None:
    """A day printed without its year, placed in the year that puts it nearest ``reference``
    (a writer names a day without its year only when it is within a few months)."""
    if v.partial is None:
        return v
    calendar, month, d = v.partial
    ref_year = reference.year if calendar == "gregorian" else (
        jdatetime.date.fromgregorian(date=reference.date()).year if calendar == "jalali"
        else hijridate.Gregorian(reference.year, reference.month, reference.day).to_hijri().year)
    best = None
    for y in (ref_year - 1, ref_year, ref_year + 1):
        try:
            day = _convert(calendar, y, month, d)
        except ValueError:
            continue
        gap = abs((datetime(day.year, day.month, day.day) - reference).days)
        if best is None or gap < best[0]:
            best = (gap, day)
    if best is None:
        return None
    day = best[1]
    return replace(v, at=datetime(day.year, day.month, day.day), partial=None)


# --- one field ------------------------------------------------------------------------------

_UNIX = re.compile(r"\d{9,13}")
_YM = re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})")
_Y = re.compile(r"(?P<y>\d{4})")


def check_date(value: str, reference: datetime | None = None, *, day_first: bool | None = None) -> DateValue:
    """The date one field holds, or a DateError that says why it is none.

    ``reference``: the crawl time, when known; relative dates ("2 hours ago") and days printed
    without a year are read against it, and are no date without it.
    """
    if not isinstance(value, str):
        raise DateError(f"not a date: {type(value).__name__}")
    raw = value.strip()
    if not raw:
        raise DateError("empty date")
    if len(raw) > 200:
        raise DateError(f"{len(raw)} characters: too long to be a date")
    s = normalize(raw)
    if _UNIX.fullmatch(s):  # unix seconds (or milliseconds): feeds and exports write them
        n = int(s) / (1000 if len(s) >= 12 else 1)
        try:
            at = datetime.fromtimestamp(n, tz=UTC).replace(tzinfo=None)
        except (ValueError, OverflowError, OSError) as exc:
            raise DateError(f"'{raw}': not a unix time ({exc})") from exc
        if not _ok_year(at.year, reference):
            raise DateError(f"'{raw}': unix time in year {at.year}")
        return DateValue(at, "minute", text=raw, end=len(raw))
    body = _PREFIX.sub("", s)
    fast = _iso(body, reference)
    if fast is not None:
        return replace(fast, text=raw, end=len(raw))
    problems: list[str] = []
    found = [v for v in find_dates(s, reference, day_first=day_first, problems=problems)]
    found = [_labelled(s, v) for v in found]
    whole = [v for v in found if v.partial is None and v.label != "updated"] or [v for v in found if v.partial is None]
    if whole:
        return whole[0]
    m = _YM.fullmatch(body)
    if m:
        y, mo = int(m.group("y")), int(m.group("m"))
        cal = _calendar_of_year(y, None)
        try:
            if cal == "gregorian" and not _ok_year(y, reference):
                raise ValueError(f"year {y} is not a plausible publication year")
            day = _convert(cal, y, mo, 1)
        except ValueError as exc:
            raise DateError(f"'{raw}': {exc}") from exc
        return DateValue(datetime(day.year, day.month, 1), "month", cal, text=raw, end=len(raw))
    m = _Y.fullmatch(body)
    if m:
        y = int(m.group("y"))
        cal = _calendar_of_year(y, None)
        if cal == "gregorian" and not _ok_year(y, reference):
            raise DateError(f"'{raw}': year {y} is not a plausible publication year")
        day = _convert(cal, y, 1, 1)
        return DateValue(datetime(day.year, 1, 1) if cal == "gregorian" else datetime(day.year, day.month, day.day),
                         "year", cal, text=raw, end=len(raw))
    if problems:
        raise DateError(problems[0])
    partial = [v for v in found if v.partial is not None]
    if partial:
        if reference is not None:
            got = resolve_partial(partial[0], reference)
            if got is not None:
                return got
        raise DateError(f"'{raw}': a day without its year, and no crawl time to place it")
    if _RELATIVE.search(s):
        if reference is None:
            raise DateError(f"'{raw}': a relative date, and no crawl time to read it against")
        return _relative(raw, reference)
    got = _dateparser(raw, reference)
    if got is None:
        raise DateError(f"'{raw}': not a date")
    return got


def _iso(s: str, reference: datetime | None) -> DateValue | None:
    """The common machine form (ISO 8601 with or without time and zone), read in microseconds."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?", s.strip()):
        return None
    try:
        dt = datetime.fromisoformat(s.strip().replace("Z", "+00:00"))
    except ValueError:
        return None  # 2022-13-01: find_dates names the reason
    if dt.year < 1800:
        return None  # a Hijri year written the ISO way (تاریخ: 1404-12-10): find_dates reads it
    if not _ok_year(dt.year, reference):
        return None
    try:
        if dt.tzinfo is not None:
            dt = dt.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        return None
    return DateValue(dt, "minute" if len(s.strip()) > 10 else "day")


def _relative(raw: str, reference: datetime) -> DateValue:
    import dateparser  # lazy: +0.16 s at import (measured); only relative and unusual dates need it

    settings = {"RELATIVE_BASE": reference, "TIMEZONE": "UTC", "TO_TIMEZONE": "UTC",
                "RETURN_AS_TIMEZONE_AWARE": False}
    data = dateparser.date.DateDataParser(languages=["en", "fa", "ar"], settings=settings).get_date_data(raw)
    if data is None or data.date_obj is None:
        raise DateError(f"'{raw}': not a date")
    dt = data.date_obj
    precision = "minute" if re.search(r"hour|minute|ساعت|دقیقه|ساعه|دقائق|دقیقه", raw, re.I) else "day"
    if precision == "day":
        dt = datetime(dt.year, dt.month, dt.day)
    return DateValue(dt, precision, text=raw, end=len(raw))


_PERIOD = {"time": "minute", "day": "day", "week": "day", "month": "month", "year": "year"}


def _dateparser(raw: str, reference: datetime | None) -> DateValue | None:
    """What the tables above do not know, by dateparser (its many languages); a value with no
    digit is refused first, since dateparser reads a bare word ("May", "Sunday") as a date."""
    if not re.search(r"\d", normalize(raw)):
        return None
    import dateparser  # lazy: +0.16 s at import (measured); only relative and unusual dates need it

    settings = {"TIMEZONE": "UTC", "TO_TIMEZONE": "UTC", "RETURN_AS_TIMEZONE_AWARE": False,
                "PREFER_DAY_OF_MONTH": "first", "REQUIRE_PARTS": ["year"], "STRICT_PARSING": False}
    if reference is not None:
        settings["RELATIVE_BASE"] = reference
    try:
        data = dateparser.date.DateDataParser(settings=settings).get_date_data(raw)
    except (ValueError, OverflowError, TypeError):
        return None
    if data is None or data.date_obj is None or not _ok_year(data.date_obj.year, reference):
        return None
    return DateValue(data.date_obj, _PERIOD.get(data.period or "day", "day"), text=raw, end=len(raw))


# A date in a URL's path, /2022/09/18/ or /2022-09-18-: news CMSs file articles under their day.
# Runs of digits (/20220918…, /08102022-) are left alone: an id as often as a date, in either order.
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?=[/-]|$)")


def url_date(url: str | None, reference: datetime | None = None) -> DateValue | None:
    if not url:
        return None
    m = _URL_DATE.search(url.split("?", 1)[0].split("#", 1)[0])
    if not m:
        return None
    y, mo, d = (int(x) for x in m.groups())
    try:
        day = date(y, mo, d)
    except ValueError:
        return None
    if not _ok_year(y, reference) or day > (reference or datetime.now(UTC).replace(tzinfo=None)).date():
        return None
    return DateValue(datetime(y, mo, d), "day", text=m.group(0), start=m.start(), end=m.end())


def parse_date(value: str | None, reference: datetime | None = None) -> DateValue | None:
    """``check_date`` for callers that only want the date or nothing."""
    if not value:
        return None
    try:
        return check_date(value, reference)
    except DateError:
        return None


def parse_datetime(value: str | None) -> datetime | None:
    """Naive UTC datetime, or None (the old ``clean.text.parse_date`` contract)."""
    v = parse_date(value)
    return v.at if v else None


def to_utc(dt: datetime) -> datetime:
    """Naive UTC (the store's convention) from an aware or naive datetime."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


# --- the date of a text's header ------------------------------------------------------------

# The header is where a page prints its own date: the lines before the article's second long
# paragraph (a paragraph of 200+ characters), 40 lines at most. Calibrated on campaign-dev: the
# deepest printed date sits on cleaned line 26, under a Persian site's menu of short lines, and
# every printed date lies before the second long paragraph; body paragraphs after it carry
# event dates ("on Tuesday, September 13, 2022"), which must not be read as the publication.
HEADER_LINES = 40
LONG_LINE = 200
HEADER_CHARS = 300  # … and in the first 300 characters of each line (a crawler prefix, a lead's
# "today (19 Mehr)"); later in a paragraph a date is an event, not the publication


@dataclass(frozen=True)
class HeaderDate:
    value: DateValue
    line: int  # index in the lines
    whole_line: bool  # the line is only this date (and its label, weekday, site name): take it out


_DATELINE = re.compile(r"^\s*[^\W\d_][\w .'-]{1,30},\s*$")  # "TEHRAN, " before "Sep. 23 (MNA)"
_FIELD_SEP = re.compile(r"\s[|•·—–-]\s|\|")
_FILLER = re.compile(r"[\W\d_]+|\b(?:at|on|by|am|pm)\b", re.I)


def _rest(line: str, v: DateValue) -> str:
    """What a line says besides a date: its label, weekday and punctuation removed."""
    s = normalize(line[:v.start] + " " + line[v.end:])
    s = _WEEKDAY_NEAR.sub(" ", s)
    s = re.sub(rf"{_PUBLISHED}|{_UPDATED}", " ", s, flags=re.I)
    return _FILLER.sub("", s)


def header_date(lines: list[str], reference: datetime | None = None, *,
                day_first: bool | None = None, problems: list[str] | None = None) -> HeaderDate | None:
    """The article's own date among the first lines of a text.

    Ranked: a labelled date ("Published:", «تاریخ:», a crawler's "date 2022-10-03") first, then a
    line that is only a date (a site name beside it allowed: "site.example | Fri, 08.09.2023")
    or a date the writer calls today, then a timestamp inside a short line; "Updated" dates come
    last. A bare day inside prose is not taken at all.
    Within a rank the earliest wins: a site's "today" header and its sidebar are later than the
    article, never earlier. A finer date of the same day (the time under a crawler's day) wins.
    A day without a year counts only when nothing else is printed, placed by ``reference``
    (without one it comes back with ``at`` None and ``partial`` set). Dates that do not exist
    are appended to ``problems``.
    """
    problems = problems if problems is not None else []
    cands: list[tuple[int, DateValue, int, bool]] = []
    partial: list[tuple[int, DateValue, int]] = []
    n_long = 0
    for i, line in enumerate(lines[:HEADER_LINES]):
        if n_long >= 2:
            break
        n_long += len(line) >= LONG_LINE
        head = line[:HEADER_CHARS]
        for v in find_dates(head, reference, day_first=day_first, problems=problems):
            v = _labelled(head, v)
            rest = _rest(line, v)
            # only the date, or a site name or outlet tag set off by a separator beside it
            # ("site.example | Fri, 08.09.2023"; ≤ 25 letters: the longest in campaign-dev is 13);
            # "Screen Shot 2022-12-04 at …" is a file name, not a date line
            whole = not rest or (len(rest) <= 25 and bool(_FIELD_SEP.search(line)))
            if v.partial is not None:
                # a day without its year is the page's own date only when the writer says so:
                # "today (19 Mehr)", or a dateline "CITY, Sep. 23 (AGENCY)"; alone on a line it
                # is as often a site's "today" header (news.am's "December 02") or an event
                if v.today or _DATELINE.match(normalize(head[:v.start])):
                    partial.append((0 if v.today else 1, v, i))
                continue
            if v.label == "updated":
                rank = 3
            elif v.label == "published":
                rank = 0
            elif whole or v.today:
                rank = 1
            elif len(line) <= LONG_LINE and v.precision == "minute":
                rank = 2  # a timestamp glued to a headline ("… unrest on September 24, 2022 at 1:52 pm")
            else:
                # a day inside a sentence, a caption, an embedded post or a file name ("Screen
                # Shot 2022-12-04 at …"): an event or another page's date, not this page's
                # (campaign-dev: all 5 such dates in headers of undated pages were of this kind)
                continue
            cands.append((rank, v, i, whole))
    if cands:
        best_rank = min(c[0] for c in cands)
        pool = [c for c in cands if c[0] == best_rank]
        rank, v, i, whole = min(pool, key=lambda c: (c[1].at, c[2]))
        if v.precision != "minute":
            finer = [c for c in cands if c[0] <= 1 and c[1].precision == "minute" and c[1].day() == v.day()]
            if finer:
                rank, v, i, whole = finer[0]
        return HeaderDate(v, i, whole)
    if partial and reference is not None:
        _r, v, i = min(partial, key=lambda c: (c[0], c[2]))
        got = resolve_partial(v, reference)
        if got is not None:
            return HeaderDate(got, i, False)
    if partial:
        _r, v, i = min(partial, key=lambda c: (c[0], c[2]))
        return HeaderDate(v, i, False)
    return None
