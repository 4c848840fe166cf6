"""The one date module (clean/dates.py) and what ingest does with its answers.

Every example is invented (fictional outlets, people and sites); the forms are the ones real
English, Persian and Arabic pages print.
"""

import json
from datetime import datetime

import pytest
from conftest import write

from narratrace.clean import dates
from narratrace.clean.dates import DateError, check_date, find_dates, header_date
from narratrace.clean.html import extract_html
from narratrace.clean.text import parse_date, split_text_header

REF = datetime(2026, 3, 12, 12, 0)  # a crawl time


@pytest.mark.parametrize("value, at, precision, calendar", [
    ("۷ اردیبهشت ۱۴۰۲", "2023-04-27 00:00", "day", "jalali"),
    ("15 آبان 1401", "2022-11-06 00:00", "day", "jalali"),
    ("۱۴۰۴/۱۲/۱۰", "2026-03-01 00:00", "day", "jalali"),
    ("تاریخ: 1404-12-10", "2026-03-01 00:00", "day", "jalali"),  # never AD 1404
    ("چهارشنبه، 16 فروردين 1402", "2023-04-05 00:00", "day", "jalali"),  # Arabic yeh, weekday prefix
    ("۱۴۰۱ مهر ۵, سه‌شنبه", "2022-09-27 00:00", "day", "jalali"),  # year first, weekday after
    ("آذر ۲۱, ۱۴۰۱", "2022-12-12 00:00", "day", "jalali"),  # month first
    ("۳۰ اسفند ۱۴۰۳", "2025-03-20 00:00", "day", "jalali"),  # 1403 is a leap year
    ("۱۶ مهر ۱۴۰۱ - ۰۸:۴۵:۴۴", "2022-10-08 08:45", "minute", "jalali"),
    ("١٥ يناير ٢٠٢٣", "2023-01-15 00:00", "day", "gregorian"),  # Arabic-Indic digits
    ("٣ تشرين الأول ٢٠٢٢", "2022-10-03 00:00", "day", "gregorian"),  # Levantine month name
    ("۱۵ رمضان ۱۴۴۴ هـ", "2023-04-06 00:00", "day", "hijri"),  # lunar Hijri (Umm al-Qura)
    ("Monday, December 5, 2022", "2022-12-05 00:00", "day", "gregorian"),
    ("Fri Jan 12, 2018 4:51", "2018-01-12 04:51", "minute", "gregorian"),
    ("March 10, 2026 10:00 AM", "2026-03-10 10:00", "minute", "gregorian"),
    ("Posted Oct 11, 2022 9:45 AM CDT", "2022-10-11 14:45", "minute", "gregorian"),  # zone → UTC
    ("2022-10-03T10:00:00+03:30", "2022-10-03 06:30", "minute", "gregorian"),
    ("11:23 British Summer Time 14 October 2022", "2022-10-14 10:23", "minute", "gregorian"),
    ("Fri, 08.09.2023, 22:23", "2023-09-08 22:23", "minute", "gregorian"),  # dots: day first
    ("2018-11", "2018-11-01 00:00", "month", "gregorian"),
    ("November 2018", "2018-11-01 00:00", "month", "gregorian"),
    ("2018", "2018-01-01 00:00", "year", "gregorian"),
    ("1669000000", "2022-11-21 03:06", "minute", "gregorian"),  # unix seconds
])
def test_field_values_in_every_calendar(value, at, precision, calendar):
    v = check_date(value, REF)
    assert v.at.strftime("%Y-%m-%d %H:%M") == at
    assert (v.precision, v.calendar) == (precision, calendar)


def test_ambiguous_numeric_dates_are_read_day_first_unless_something_says_otherwise():
    v = check_date("10/03/2026", REF)
    assert v.at == datetime(2026, 3, 10) and v.ambiguous  # recorded as a guess
    assert check_date("10/03/2025", REF, day_first=False).at == datetime(2025, 10, 3)  # a month-first source
    assert check_date("03/25/2025", REF).at == datetime(2025, 3, 25)  # 25 cannot be a month
    # a weekday printed beside it decides: 3 October 2025 was a Friday, 10 March 2025 a Monday
    v = check_date("Friday 10/03/2025", REF)
    assert v.at == datetime(2025, 10, 3) and not v.ambiguous


@pytest.mark.parametrize("value, reason", [
    ("32/13/2020", "month 13 does not exist"),
    ("۳۱ اسفند ۱۴۰۳", "Solar Hijri 1403-12-31 does not exist"),  # Esfand has 30 days in a leap year
    ("۳۰ اسفند ۱۴۰۴", "Solar Hijri 1404-12-30 does not exist"),  # … and 29 in 1404
    ("2022-02-30", "does not exist"),
    ("Published: 14 May 2026", "lies in the future"),  # after the crawl
    ("14 May 2091", "not a plausible publication year"),
    ("99999999999999999999", "not a date"),
    ("the day after", "relative date"),
    ("hello", "not a date"),
])
def test_impossible_dates_say_why_and_never_become_a_wrong_date(value, reason):
    ref = REF if "after" not in value else None
    with pytest.raises(DateError, match=reason):
        check_date(value, ref)
    assert dates.parse_date(value, ref) is None  # the quiet form: nothing, never a wrong day


def test_old_contract_delegate_returns_naive_utc():
    assert parse_date("2022-10-03T10:00:00+03:30") == datetime(2022, 10, 3, 6, 30)
    assert parse_date("32/13/2020") is None


def test_relative_dates_need_the_crawl_time():
    assert check_date("2 hours ago", REF).at == datetime(2026, 3, 12, 10, 0)
    assert check_date("۲ روز پیش", REF).at == datetime(2026, 3, 10)
    assert check_date("منذ يومين", REF).at == datetime(2026, 3, 10)
    with pytest.raises(DateError, match="no crawl time"):
        check_date("3 days ago")


def test_find_dates_gives_spans_and_skips_weak_month_words():
    line = "Filed by Tova Brandt on 4 June 2024, 09:15 | Updated: 5 June 2024, 18:02"
    found = find_dates(line)
    assert [line[v.start:v.end] for v in found] == ["4 June 2024, 09:15", "5 June 2024, 18:02"]
    # «می» is the verb prefix of می‌گوید far more often than the month May
    assert find_dates("او می گوید ۱۲ نفر آمدند") == []


def test_header_prefers_the_articles_own_date_to_a_site_header_and_updates():
    lines = [
        "Harbour council votes to close the old ferry pier",
        "Saturday 21 March 2026",  # the site's "today" line, printed at crawl time
        "valdoria-post.example | Fri, 08.09.2023, 22:23",
        "Updated: 9 September 2023, 10:00",
        "The council of Port Ellis voted on Tuesday, 5 September 2023, to close the pier " * 4,
    ]
    got = header_date(lines)
    assert got.value.at == datetime(2023, 9, 8, 22, 23) and got.line == 2 and got.whole_line
    title, found, rest = split_text_header(lines)
    assert title == lines[0] and found.value.precision == "minute"
    # the article's date line leaves the text, and so does the site's date-only "today" line
    assert lines[2] not in rest and lines[1] not in rest and lines[4] in rest and rest[0] == lines[0]


def test_header_ignores_event_dates_in_the_body_and_a_day_without_year_needs_a_reference():
    long = "Minister Arvo Lindqvist spoke at length about the budget and the harbour works. " * 4
    lines = ["Budget talks resume", long, long, "The talks began on 2 February 2021 in Port Ellis."]
    assert header_date(lines) is None  # past the second long paragraph: an event, not the page's date
    today = ["نشست شورای شهر", "به گزارش خبرگزاری والدوریا، نشست شورا امروز (۱۹ مهرماه) برگزار شد. " * 3]
    partial = header_date(today)
    assert partial.value.at is None and partial.value.partial == ("jalali", 7, 19)
    placed = header_date(today, reference=datetime(2022, 10, 20))
    assert placed.value.at == datetime(2022, 10, 11)  # 19 Mehr 1401


def test_html_date_sources():
    body = "<p>" + "The harbour council of Port Ellis met again on the pier question today. " * 5 + "</p>"
    meta = ('<html><head><meta property="article:published_time" content="2024-06-04T09:15:00+02:00">'
            f"</head><body><article>{body}</article></body></html>")
    h = extract_html(meta)
    assert (h.published_at, h.date_precision, h.date_source) == (datetime(2024, 6, 4, 7, 15), "minute", "meta")
    ld = ('<html><head><script type="application/ld+json">{"@graph": [{"@type": "NewsArticle", '
          '"datePublished": "۱۴۰۳/۰۳/۱۵"}]}</script></head><body><article>' + body + "</article></body></html>")
    h = extract_html(ld)
    assert (h.published_at, h.date_source) == (datetime(2024, 6, 4), "json-ld")
    # a <time> in the site header is the crawl day; only the article's own counts
    side = ('<html><body><header><time datetime="2026-03-21">today</time></header><article>'
            '<time datetime="2024-06-01T08:00:00Z">1 June</time>' + body + "</article></body></html>")
    h = extract_html(side)
    assert (h.published_at, h.date_source) == (datetime(2024, 6, 1, 8, 0), "time")
    h = extract_html(f"<html><body><article>{body}</article></body></html>",
                     url="https://valdoria-post.example/2024/06/03/pier-vote/")
    assert (h.published_at.date().isoformat(), h.date_source) in {("2024-06-03", "url"), ("2024-06-03", "extractor")}


def _jsonl(tmp_path, rows):
    return write(tmp_path / "in" / "posts.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")


TEXT = "The harbour council of Port Ellis voted to close the old ferry pier, its chair Mira Osei said."


def test_ingest_stores_date_precision_and_source_and_reports_undated(ws, tmp_path):
    path = _jsonl(tmp_path, [
        {"text": TEXT + " One.", "published_at": "2018-11"},
        {"text": TEXT + " Two.", "date": "۷ اردیبهشت ۱۴۰۲"},
        {"text": TEXT + " Three.", "published_at": "32/13/2020"},
        {"text": TEXT + " Four."},
    ])
    report = ws.ingest([str(path)])
    assert report.added == 4
    docs = {d.text.rsplit(" ", 1)[-1] if d.text else "": d for d in ws.documents(with_text=True)}
    one, two = docs["One."], docs["Two."]
    assert (one.published_at, one.date_precision, one.date_source) == (datetime(2018, 11, 1), "month", "record")
    assert (two.published_at, two.date_precision) == (datetime(2023, 4, 27), "day")
    assert docs["Three."].published_at is None and docs["Four."].published_at is None
    undated = {p.origin.rsplit("#", 1)[-1]: p.reason for p in report.undated}
    assert set(undated) == {"3", "4"}
    assert "field 'published_at'" in undated["3"] and "month 13" in undated["3"]
    assert "undated 2" in report.summary() and report.as_dict()["undated_count"] == 2


def test_reingest_after_the_date_module_changes_redates_without_duplicating(ws, tmp_path, monkeypatch):
    from narratrace.ingest import pipeline

    path = write(tmp_path / "in" / "note.txt", "Pier vote\n\nPublished: 4 June 2024\n\n" + TEXT + "\n")
    assert ws.ingest([str(path)]).added == 1
    (doc,) = ws.documents()
    assert (doc.published_at, doc.date_source) == (datetime(2024, 6, 4), "header")
    # a newer date module: the same material, ingested again, is re-dated in place
    with ws.sessions.begin() as s:  # what an older version stored
        from narratrace.store.models import Document
        s.get(Document, doc.id).published_at = None
    monkeypatch.setattr(pipeline, "DATES_VERSION", dates.VERSION + 1)
    again = ws.ingest([str(path)])
    assert (again.added, again.already_present, again.redated) == (0, 1, 1)
    (after,) = ws.documents()
    assert after.id == doc.id and after.published_at == datetime(2024, 6, 4)
    assert after.raw_hash == doc.raw_hash and after.text == doc.text
    assert ws.ingest([str(path)]).redated == 0  # now current: nothing to do


def test_ingest_places_a_day_without_year_among_the_sources_dated_documents(ws, tmp_path):
    folder = tmp_path / "in"
    for i, day in enumerate(("۱۰ مهر ۱۴۰۱", "۱۲ مهر ۱۴۰۱", "۱۵ مهر ۱۴۰۱")):
        write(folder / f"{i}.txt", f"خبر شماره {i}\n\n{day}\n\nشورای شهر بندر الیس درباره اسکله قدیمی تصمیم گرفت {i}.\n")
    write(folder / "z.txt", "نشست شورا\n\nبه گزارش خبرگزاری والدوریا، نشست شورا امروز (۱۹ مهرماه) در بندر الیس برگزار شد. "
          "اعضای شورا درباره آینده اسکله قدیمی و هزینه‌های تعمیر آن گفت‌وگو کردند و تصمیم نهایی به هفته بعد موکول شد.\n")
    report = ws.ingest([str(folder)])
    assert report.added == 4 and not report.undated
    doc = next(d for d in ws.documents() if d.origin.endswith("z.txt"))
    assert (doc.published_at, doc.date_source) == (datetime(2022, 10, 11), "inferred")  # 19 Mehr 1401


def test_a_url_dates_a_text_that_prints_no_date_but_never_beats_a_printed_one(ws):
    from narratrace.ingest.items import RawItem

    items = [RawItem(origin="a", kind="text", data=f"Pier vote\n\n{TEXT}\n".encode(),
                     url="https://valdoria-post.example/2024/06/03/pier-vote/"),
             RawItem(origin="b", kind="text", data=f"Pier vote again\n\n5 June 2024\n\n{TEXT} Again.\n".encode(),
                     url="https://valdoria-post.example/2024/06/03/pier-vote-2/")]
    ws.ingest_items(items, workers=1)
    got = {d.origin: (d.published_at, d.date_source) for d in ws.documents()}
    assert got == {"a": (datetime(2024, 6, 3), "url"), "b": (datetime(2024, 6, 5), "header")}


def test_hostile_date_text_is_bounded():
    import time

    t = time.monotonic()
    lines = ["1/" * 150, "12 " * 100, "۱۴۰۱/" * 60, "Monday, " * 40, "September " * 30] * 8
    assert header_date(lines) is None
    for value in ("1/" * 99, "9" * 199, "-" * 199, "۱" * 150):
        with pytest.raises(DateError):
            check_date(value)
    assert time.monotonic() - t < 5  # measured 0.1 s; regex backtracking would take minutes


def test_a_record_stored_before_0009_is_redated_not_added_again(ws, tmp_path):
    from narratrace.ingest.files import read_path
    from narratrace.store.models import Document

    path = _jsonl(tmp_path, [{"text": TEXT, "published_at": "2018-11"}])
    ws.ingest([str(path)])
    (item,) = list(read_path(path))
    (doc,) = ws.documents()
    with ws.sessions.begin() as s:  # as the old ingest stored it: "2018-11" unparsed, keyed with it
        row = s.get(Document, doc.id)
        row.raw_hash, row.published_at, row.dates_version = item.legacy_hashes()[1], None, None
    again = ws.ingest([str(path)])
    assert (again.added, again.already_present, again.redated) == (0, 1, 1)
    (after,) = ws.documents()
    assert after.raw_hash == item.raw_hash() and after.published_at == datetime(2018, 11, 1)
