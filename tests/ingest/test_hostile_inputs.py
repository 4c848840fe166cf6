"""Hostile and broken inputs: each one gives a one-line reason that names it, the rest of
the batch goes on, and nothing already stored changes.

Every test seeds the workspace with good documents first, snapshots every row of the
document, sentence and signature tables, runs a batch holding the hostile input(s) and one
good document, and then checks the good document was added and the old rows are identical.
"""

from __future__ import annotations

import codecs
import io
import json
import random
import time
import tracemalloc

import httpx
import pytest
from conftest import article_html, write
from sqlalchemy import text

from narratrace.clean.normalize import visible_controls
from narratrace.ingest.web import Fetcher

PUBLIC_IP = "93.184.216.34"
TABLES = ("document", "sentence", "document_signature")
KEYS = {"document": "id", "sentence": "id", "document_signature": "document_id"}
PERSIAN = "سخنگوی وزارت خارجه گفت که این گروه هیچ پایگاهی در داخل کشور ندارد و فقط چند فراری در خارج است."


# -- helpers ---------------------------------------------------------------------------------

def snapshot(ws) -> dict[str, dict]:
    out = {}
    with ws.engine.connect() as c:
        for t in TABLES:
            key = KEYS[t]
            out[t] = {row._mapping[key]: tuple(row) for row in c.execute(text(f"SELECT * FROM {t} ORDER BY {key}"))}
    return out


class Seeded:
    """Good documents stored before the hostile batch, and a check that they did not change."""

    def __init__(self, ws, tmp_path):
        self.ws = ws
        d = tmp_path / "seed"
        write(d / "seed1.html", article_html("Seeded story", [
            "The foreign ministry spokesman said on Monday that the Front has no base inside the country.",
            "He repeated that its supporters abroad are a handful of fugitives."], url="https://seed.example/1"))
        write(d / "seed2.txt", "Seeded transcript\n\n"
                               "The minister told reporters the group is a cult with no roots at home.")
        write(d / "seed3.jsonl", json.dumps({"text": PERSIAN, "url": "https://seed.example/fa"}, ensure_ascii=False))
        report = ws.ingest([str(d)])
        assert report.added == 3, report.as_dict()
        self.before = snapshot(ws)
        assert all(self.before[t] for t in TABLES)

    def check(self) -> None:
        after = snapshot(self.ws)
        for t in TABLES:
            old = self.before[t]
            assert {k: after[t].get(k) for k in old} == old, f"stored {t} rows changed"


@pytest.fixture
def seeded(ws, tmp_path):
    return Seeded(ws, tmp_path)


def good_doc(directory, name="good.txt"):
    """A plain, valid document placed in the hostile batch: it must still be added."""
    return write(directory / name, f"Good document {name}\n\nThe deputy minister said the protests were organised "
                                   f"from abroad, according to the report filed as {name}.")


def assert_added(ws, report, name):
    docs = [d for d in ws.documents() if d.origin.endswith(name)]
    assert docs, f"{name} was not added: {report.as_dict()}"
    assert set(d.id for d in docs) <= set(report.document_ids)
    return docs[0]


def problem(ws, problems, name, *words, status=None):
    """The one Problem whose origin names `name`: one line, says what is wrong, and is recorded."""
    hits = [p for p in problems if name in p.origin]
    assert len(hits) == 1, f"expected one problem naming {name!r}, got {problems}"
    p = hits[0]
    assert p.reason.strip() and "\n" not in p.reason and "\r" not in p.reason, p
    assert "Traceback" not in p.reason
    for w in words:
        assert w.lower() in p.reason.lower(), p
    if status:
        assert p.status == status, p
    recorded = [e for e in ws.problems(limit=1000) if e["input"] == p.origin]
    assert recorded and recorded[0]["reason"] == p.reason and recorded[0]["status"] == p.status
    return p


def text_of(ws, name):
    return next(d for d in ws.documents(with_text=True) if d.origin.endswith(name)).text


# -- local files -----------------------------------------------------------------------------

P1 = "The spokesman said the Front has no support inside the country and is only a cult."
P2 = "Officials repeated the claim at a second press conference on Tuesday afternoon."


def _para(tag: str, n: int) -> str:
    """A distinct sentence per file: one repeated across a folder would be learned as boilerplate."""
    return f"The {tag} report number {n} says the spokesman denied the Front has any support inside the country."


def test_malformed_and_truncated_html_never_crash(ws, tmp_path, seeded):
    d = tmp_path / "batch"
    a1, a2 = _para("truncated", 1), _para("truncated", 2)
    full = article_html("Cut story", [a1, a2])
    write(d / "cut_mid_tag.html", full[: full.index("<p>", full.index(a1)) + 2])  # ends in "<p"
    b1, b2 = _para("attribute", 1), _para("attribute", 2)
    full = article_html("Cut in attribute", [b1, b2])
    write(d / "cut_mid_attr.html", full[: full.index(b2) - 3] + '<p class="lead" data-x="')
    c1, c2 = _para("garbage", 1), _para("garbage", 2)
    write(d / "garbage.html", "<<<>>><html><body><p>" + c1 + "<</p><div <div>&#xFFFFFFFF; &bogus; <![CDATA[ x <p>"
          + c2 + "</table></td></tr><!-- unclosed comment")
    u1, u2 = _para("unclosed", 1), _para("unclosed", 2)
    write(d / "unclosed.html", "<html><head><title>Unclosed</title><body><div><p>" + u1 + "<div><span><b><i><p>" + u2)
    # an unclosed <title> swallows the page: no main text, a one-line reason
    write(d / "unclosed_title.html", "<html><head><title>Unclosed<body><p>" + _para("title", 1))
    write(d / "only_script.html", "<html><body><script>alert(1)</script><style>p{}</style></body></html>")
    write(d / "tags_only.html", "<div><span></span></div></div></div><br/><br/>")
    good_doc(d)
    report = ws.ingest([str(d)])
    assert_added(ws, report, "good.txt")
    names = ["cut_mid_tag.html", "cut_mid_attr.html", "garbage.html", "unclosed.html", "unclosed_title.html",
             "only_script.html", "tags_only.html"]
    stored = {n: text_of(ws, n) for n in names if any(x.origin.endswith(n) for x in ws.documents())}
    for n in names:  # every input is accounted for: a document, or a one-line reason
        if n not in stored:
            problem(ws, report.failed + report.skipped, n)
    # ingested with the text that exists
    assert a1 in stored["cut_mid_tag.html"] and a2 not in stored["cut_mid_tag.html"]
    assert b1 in stored["cut_mid_attr.html"] and b2 not in stored["cut_mid_attr.html"]
    assert u1 in stored["unclosed.html"] and u2 in stored["unclosed.html"]
    assert c1 in stored["garbage.html"].replace("<", "")
    for t in stored.values():
        assert "<p" not in t and "<div" not in t and "alert(1)" not in t
    assert "only_script.html" not in stored and "tags_only.html" not in stored
    seeded.check()


def test_binary_file_named_html_fails_as_binary(ws, tmp_path, seeded):
    d = tmp_path / "batch"
    rnd = random.Random(7)
    write(d / "photo.html", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rnd.randrange(256) for _ in range(20_000)))
    write(d / "noise.txt", bytes(rnd.randrange(256) for _ in range(5_000)))
    good_doc(d)
    report = ws.ingest([str(d)])
    problem(ws, report.failed, "photo.html", "binary", status="failed")
    problem(ws, report.failed, "noise.txt", "binary", status="failed")
    assert_added(ws, report, "good.txt")
    assert ws.stats()["documents"] == 4
    seeded.check()


def test_200_mb_file_is_refused_by_size_without_reading_it(ws, tmp_path, seeded, monkeypatch):
    from pathlib import Path

    d = tmp_path / "batch"
    d.mkdir()
    big = d / "huge.html"
    with open(big, "wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: no disk space used
    good_doc(d)
    real_read_bytes = Path.read_bytes

    def guarded_read_bytes(self):
        assert self.name != "huge.html", "the 200 MB file was read into memory"
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", guarded_read_bytes)
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        report = ws.ingest([str(d)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - t0 < 10
    assert peak < 50 * 2**20, f"peak {peak / 2**20:.0f} MB: the file was read"
    p = problem(ws, report.failed, "huge.html", "200.0 MB", "over the", "limit", "--max-mb", status="failed")
    assert "50 MB" in p.reason
    assert_added(ws, report, "good.txt")
    # a lowered cap names the cap the analyst gave (not "0 MB")
    small = write(tmp_path / "small" / "page.html", article_html("Small", [P1] * 8000))
    r2 = ws.ingest([str(small)], max_bytes=512 * 1024)
    assert "over the 0.5 MB limit" in problem(ws, r2.failed, "page.html").reason
    seeded.check()


@pytest.mark.parametrize("name", ["empty.html", "empty.txt", "empty.jsonl", "empty.csv", "blank.jsonl", "blank.txt"])
def test_empty_files_are_skipped(ws, tmp_path, seeded, name):
    d = tmp_path / "batch"
    write(d / name, b"" if name.startswith("empty") else b"  \n\n \t\n")
    good_doc(d)
    report = ws.ingest([str(d)])
    p = problem(ws, report.skipped, name, status="skipped")
    assert "empty" in p.reason or "no text" in p.reason
    assert not report.failed
    assert_added(ws, report, "good.txt")
    seeded.check()


# -- encodings -------------------------------------------------------------------------------

def _persian_html(body: str) -> str:
    return (f"<html><head><title>خبر رسمی</title></head><body><article><h1>خبر رسمی</h1>"
            f"<p>{body}</p><p>وزیر این سخنان را در نشست خبری روز سه‌شنبه تکرار کرد.</p></article></body></html>")


def test_windows_1256_persian_without_declaration(ws, tmp_path, seeded):
    d = tmp_path / "batch"
    # Windows-1256 has no Persian yeh/kaf: editors wrote the Arabic letters
    legacy = _persian_html(PERSIAN).replace("ی", "ي").replace("ک", "ك").replace("\u200c", " ")
    raw = legacy.encode("cp1256")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b"charset" not in raw
    write(d / "fa-1256.html", raw)
    good_doc(d)
    report = ws.ingest([str(d)])
    assert not report.failed and not report.skipped, report.as_dict()
    stored = text_of(ws, "fa-1256.html")
    assert PERSIAN in stored  # decoded, and yeh/kaf normalised back to Persian
    assert "سخنگوی" in stored and "کشور" in stored
    doc = next(x for x in ws.documents() if x.origin.endswith("fa-1256.html"))
    assert doc.title in ("خبر رسمی", "خبر رسمي") and doc.language == "fa"  # titles are not Persian-normalised
    assert_added(ws, report, "good.txt")
    seeded.check()


def test_utf16_le_with_and_without_bom(ws, tmp_path, seeded):
    d = tmp_path / "batch"
    # distinct sentences per file: one repeated across a folder would be learned as boilerplate
    fa = {n: PERSIAN.replace("وزارت خارجه", f"وزارت خارجه در گزارش {w}") for n, w in
          [("bom.html", "اول"), ("nobom.html", "دوم"), ("fa-nobom.txt", "سوم"), ("fa-be-nobom.txt", "چهارم")]}
    en = {n: f"The minister said the Front is a cult with no support inside the country, {n} reported."
          for n in ("bom.html", "nobom.html")}

    def page(n):
        return (f"<html><head><title>UTF16 {n}</title></head><body><article><p>{en[n]}</p><p>{fa[n]}</p>"
                "</article></body></html>")

    write(d / "bom.html", codecs.BOM_UTF16_LE + page("bom.html").encode("utf-16-le"))
    write(d / "nobom.html", page("nobom.html").encode("utf-16-le"))
    # Persian-only text has almost no NUL bytes in UTF-16: it used to be refused as "binary"
    write(d / "fa-nobom.txt", ("گزارش\n\n" + fa["fa-nobom.txt"]).encode("utf-16-le"))
    write(d / "fa-be-nobom.txt", ("عنوان\n\n" + fa["fa-be-nobom.txt"]).encode("utf-16-be"))
    good_doc(d)
    report = ws.ingest([str(d)])
    assert not report.failed and not report.skipped, report.as_dict()
    for n in ("bom.html", "nobom.html"):
        t = text_of(ws, n)
        assert en[n] in t and fa[n] in t and "\x00" not in t and "\ufeff" not in t
    for n in ("fa-nobom.txt", "fa-be-nobom.txt"):
        assert fa[n] in text_of(ws, n)
    assert_added(ws, report, "good.txt")
    seeded.check()


def _sloppy(exc):
    """What browsers and Windows tools do with bytes cp1252 leaves undefined (0x81, 0x8D, ...)."""
    return exc.object[exc.start:exc.end].decode("latin-1"), exc.end


codecs.register_error("narratrace_test_sloppy", _sloppy)


@pytest.mark.parametrize("errors", ["narratrace_test_sloppy", "strict"])
def test_utf8_persian_mojibake_is_repaired(ws, tmp_path, seeded, errors):
    d = tmp_path / "batch"
    if errors == "strict":  # no letter whose UTF-8 has a byte cp1252 leaves undefined (ف is D9 81)
        original = "وزیر کشور در نشست خبری، گروه را «جریانی بی‌ریشه» نامید و آن را ساخته دشمنان خواند."
    else:
        original = "وزیر گفت: «این گروه یک فرقه است» و هیچ پایگاهی در داخل کشور ندارد."
    garbled = original.encode("utf-8").decode("cp1252", errors=errors)
    assert "Ø" in garbled and original not in garbled
    write(d / "mojibake.txt", ("Mojibake report\n\n" + garbled).encode("utf-8"))
    title = "گزارش «ویژه» خبری"
    garbled_title = title.encode("utf-8").decode("cp1252", errors=errors)
    write(d / "mojibake.jsonl", json.dumps({"text": garbled, "title": garbled_title}, ensure_ascii=False) + "\n"
          # the same garbled text as JSON \u escapes (Python's default): repaired in the record, not the file
          + json.dumps({"text": garbled + " (escaped)", "title": garbled_title}))
    good_doc(d)
    report = ws.ingest([str(d)])
    assert not report.failed, report.as_dict()
    assert original in text_of(ws, "mojibake.txt")
    assert original in text_of(ws, "mojibake.jsonl#1")
    assert original + " (escaped)" in text_of(ws, "mojibake.jsonl#2")
    assert {x.title for x in ws.documents() if "mojibake.jsonl" in x.origin} == {title}
    for doc in ws.documents(with_text=True):
        assert "Ø" not in doc.text and "Ù" not in doc.text and "Ø" not in (doc.title or ""), doc.origin
    assert_added(ws, report, "good.txt")
    seeded.check()


# -- containers: WARC, CSV, JSONL, Telegram ----------------------------------------------------

def _good_warc(gz: bool) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    w = WARCWriter(out, gzip=gz)
    for i in range(2):
        html = article_html(f"Crawled {i}", [P1 + f" Item {i} has its own details.", P2]).encode()
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(f"https://kt.example/{i}", "response", payload=io.BytesIO(html),
                                            http_headers=headers))
    return out.getvalue()


GARBAGE = bytes(random.Random(1).randrange(256) for _ in range(3000))


@pytest.mark.parametrize("name, tail", [
    ("garbage.warc", GARBAGE),
    ("garbage.warc.gz", GARBAGE),
    # a record that parses as a WARC header but has no target URI (used to crash the batch)
    ("no-uri.warc", b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 10\r\n\r\n0123456789\r\n\r\n"),
    ("bad-header.warc", b"WARC/1.0\r\nWARC-Type response no colon\r\n\x00\x01\x02" + GARBAGE[:200]),
])
def test_warc_with_garbage_keeps_the_good_records(ws, tmp_path, seeded, name, tail):
    d = tmp_path / "batch"
    write(d / name, _good_warc(name.endswith(".gz")) + tail)
    good_doc(d)
    report = ws.ingest([str(d)])
    urls = {x.url for x in ws.documents() if x.origin.startswith(str(d / name))}
    assert urls == {"https://kt.example/0", "https://kt.example/1"}, report.as_dict()
    p = problem(ws, report.failed, name, "WARC record", status="failed")
    assert "(record 3)" in p.origin
    assert len(p.reason) < 400
    assert_added(ws, report, "good.txt")
    seeded.check()


def test_warc_corrupted_in_the_middle(ws, tmp_path, seeded):
    d = tmp_path / "batch"
    good = _good_warc(False)
    mid = len(good) // 2
    write(d / "torn.warc", good[:mid] + GARBAGE[:64] + good[mid + 64:])
    good_doc(d)
    report = ws.ingest([str(d)])
    kept = [x for x in ws.documents() if x.origin.startswith(str(d / "torn.warc"))]
    assert [x.url for x in kept] == ["https://kt.example/0"]
    problem(ws, report.failed, "torn.warc", "unreadable WARC record", status="failed")
    assert_added(ws, report, "good.txt")
    seeded.check()


def test_csv_without_a_text_column_and_with_empty_cells(ws, tmp_path, seeded):
    d = tmp_path / "batch"
    write(d / "nocol.csv", "headline,when,where\nA title,2026-01-01,Tehran\n")
    write(d / "cells.csv", "title,text\nEmpty one,\nBlank one,   \nFull one,The Front has no roots at home; officials "
          "repeated this often.\n")
    good_doc(d)
    report = ws.ingest([str(d)])
    p = problem(ws, report.failed, "nocol.csv", "no text column", "headline, when, where", "--map text=",
                status="failed")
    assert p.origin.endswith("nocol.csv")
    problem(ws, report.skipped, "cells.csv#2", "no text", status="skipped")
    problem(ws, report.skipped, "cells.csv#3", "no text", status="skipped")
    assert text_of(ws, "cells.csv#4").startswith("Full one\n\nThe Front has no roots at home")  # title first
    # --map to a column that is not there is refused the same way
    r2 = ws.ingest([str(d / "nocol.csv")], mapping={"text": "body"})
    problem(ws, r2.failed, "nocol.csv", "--map text=body", "no column 'body'", "headline")
    assert_added(ws, report, "good.txt")
    seeded.check()


def test_jsonl_with_invalid_lines(ws, tmp_path, seeded):
    d = tmp_path / "batch"
    lines = [
        json.dumps({"text": "Line one: the Front is a fringe group of exiles abroad, the minister said."}),
        '{"text": "truncated line',
        json.dumps({"text": "Line three: the spokesman called the protests foreign-made."}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"foo": "no text field"}),
        "",
        json.dumps({"text": "Line seven: officials said the group has no base at home."}),
    ]
    write(d / "posts.jsonl", "\n".join(lines) + "\n")
    good_doc(d)
    report = ws.ingest([str(d)])
    problem(ws, report.failed, "posts.jsonl#2", "invalid JSON", status="failed")
    problem(ws, report.failed, "posts.jsonl#4", "not an object", status="failed")
    problem(ws, report.failed, "posts.jsonl#5", "no text column", "foo", status="failed")
    assert len(report.failed) == 3 and not report.skipped
    origins = sorted(x.origin.rsplit("#", 1)[1] for x in ws.documents() if "posts.jsonl#" in x.origin)
    assert origins == ["1", "3", "7"]
    assert_added(ws, report, "good.txt")
    seeded.check()


@pytest.mark.parametrize("content, words", [
    (json.dumps([{"id": 1, "text": "a list, not an export"}]), ("Telegram", "messages")),
    (json.dumps({"name": "x", "messages": "not a list"}), ("Telegram", "messages")),
    ("{not json at all", ("invalid JSON",)),
    (json.dumps("a string"), ("Telegram",)),
])
def test_json_that_is_not_a_telegram_export(ws, tmp_path, seeded, content, words):
    d = tmp_path / "batch"
    write(d / "export" / "result.json", content)
    good_doc(d)
    report = ws.ingest([str(d)])
    problem(ws, report.failed, "result.json", *words, status="failed")
    assert_added(ws, report, "good.txt")
    seeded.check()


def test_telegram_export_with_odd_messages(ws, tmp_path, seeded):
    d = tmp_path / "batch"
    write(d / "chan" / "result.json", json.dumps({"name": "Chan", "messages": [
        "not a dict", None, 42,
        {"id": 1, "type": "message", "text": {"unexpected": "shape"}},
        {"id": 2, "type": "message", "text": [None, 5, {"type": "bold"}, "The Front is a cult, the channel wrote."],
         "date_unixtime": "not-a-number", "date": 12345, "from": ["list"]},
    ]}))
    good_doc(d)
    report = ws.ingest([str(d)])
    assert not report.failed, report.as_dict()
    assert text_of(ws, "result.json#2") == "The Front is a cult, the channel wrote."
    assert_added(ws, report, "good.txt")
    seeded.check()


def test_odd_file_names(ws, tmp_path, seeded):
    d = tmp_path / "batch"
    names = ["with spaces (1).txt", "نام فارسی «خبر».txt", "hash#and?query&amp;.txt", "-leading-dash.txt",
             "quote'and\"double.txt", "semi;colon $HOME `x`.txt"]
    for n in names:
        good_doc(d, n)
    write(d / "[brackets]*.html", article_html("Brackets", [P1]))
    report = ws.ingest([str(d)])
    assert report.added == len(names) + 1 and not report.failed and not report.skipped, report.as_dict()
    for n in names:
        assert n in text_of(ws, n)
    assert P1 in text_of(ws, "[brackets]*.html")
    # a bad input with an odd name is named in full in its reason's origin
    write(tmp_path / "odd" / "bad name «x» (2).jsonl", "{broken")
    r2 = ws.ingest([str(tmp_path / "odd")])
    problem(ws, r2.failed, "bad name «x» (2).jsonl#1", "invalid JSON")
    seeded.check()


def test_hostile_text_is_stored_as_inert_text(ws, tmp_path, seeded):
    d = tmp_path / "batch"
    rlo = "\u202e"
    records = [
        {"text": "The minister said <script>alert('x')</script> nothing about the Front today.", "title": "script"},
        {"text": f"The spokesman said the group is a {rlo}tluc{chr(0x202c)} with supporters abroad.", "title": "rlo"},
        {"text": "Zero\u200bwidth and \u2066isolate\u2069 and \u200fmark characters in a real sentence here.",
         "title": "invisible"},
    ]
    write(d / "hostile.jsonl", "\n".join(json.dumps(r) for r in records))
    write(d / "rtl-title.html", article_html(f"Title {rlo}gpj.exe", [f"Body with a {rlo}reversed{chr(0x202c)} "
                                                                     "word in an otherwise normal sentence."]))
    good_doc(d)
    report = ws.ingest([str(d)])
    assert not report.failed and not report.skipped, report.as_dict()
    script = text_of(ws, "hostile.jsonl#1")
    # each record's title is its text's first paragraph (so it is segmented and matched too)
    assert script == "script\n\nThe minister said <script>alert('x')</script> nothing about the Front today."
    assert text_of(ws, "hostile.jsonl#2") == "rlo\n\nThe spokesman said the group is a tluc with supporters abroad."
    assert text_of(ws, "hostile.jsonl#3") == ("invisible\n\n"
                                              "Zerowidth and isolate and mark characters in a real sentence here.")
    html_text = text_of(ws, "rtl-title.html")
    assert "Body with a reversed word" in html_text
    for doc in ws.documents(with_text=True):
        for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200e\u200f":
            assert ch not in doc.text, (doc.origin, hex(ord(ch)))
    # sentences are spans into the stored text, so they are clean too
    doc = ws.document(next(x.id for x in ws.documents() if x.origin.endswith("hostile.jsonl#1")))
    assert "".join("".join(s.text.split()) for s in doc.sentences) == "".join(script.split())
    assert_added(ws, report, "good.txt")
    seeded.check()


# -- URLs: XML bombs and forbidden destinations ----------------------------------------------

ARTICLE = article_html("Public article", [P1, P2], url="https://news.example/a1")

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>https://news.example/a1</link></item>
</channel></rss>"""

XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://news.example/&x;</loc></url></urlset>"""

GOOD_FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>ok</title>
<item><title>Public article</title><link>https://news.example/a1</link></item></channel></rss>"""


class Recorder:
    """An httpx MockTransport handler that serves fixed routes and records every request."""

    def __init__(self, routes: dict[str, httpx.Response | bytes]):
        self.routes = routes
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(str(request.url))
        r = self.routes.get(str(request.url))
        if r is None:
            return httpx.Response(404)
        if isinstance(r, bytes):
            return httpx.Response(200, content=r, headers={"content-type": "application/xml"})
        return r

    def fetcher(self, resolver=None, **kw) -> Fetcher:
        return Fetcher(client=httpx.Client(transport=httpx.MockTransport(self)),
                       resolver=resolver or (lambda host: [PUBLIC_IP]), **kw)


@pytest.mark.parametrize("mode, url, body", [
    ("feed", "https://feeds.example/bomb.xml", BILLION_LAUGHS),
    ("sitemap", "https://feeds.example/bomb-sitemap.xml", BILLION_LAUGHS),
    ("sitemap", "https://feeds.example/xxe.xml", XXE),
])
def test_xml_bomb_and_external_entities_are_refused(ws, seeded, mode, url, body):
    good = ("https://feeds.example/good.xml", GOOD_FEED if mode == "feed" else
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://news.example/a1</loc>'
            b"</url></urlset>")
    rec = Recorder({url: body, good[0]: good[1],
                    "https://news.example/a1": httpx.Response(200, html=ARTICLE)})
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        report = ws.ingest_urls([url, good[0]], mode=mode, fetcher=rec.fetcher())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - t0 < 10
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MB while refusing an XML bomb"
    p = problem(ws, report.failed, url, "unsafe XML", "refused", status="failed")
    assert p.origin == url
    assert report.added == 1 and ws.document(report.document_ids[0]).url == "https://news.example/a1"
    assert "lollol" not in " ".join(d.text for d in ws.documents(with_text=True))
    assert "root:" not in " ".join(d.text for d in ws.documents(with_text=True))
    seeded.check()


@pytest.mark.parametrize("body, words", [
    (b'<?xml version="1.0" encoding="no-such-encoding"?><rss/>', ("malformed feed XML",)),
    (b"<rss><channel><item><title>a&nbsp;b</title><link>https://news.example/a1</link>", ("malformed feed XML",)),
    (b"", ("malformed feed XML",)),
])
def test_malformed_feed_xml_fails_with_a_reason(ws, seeded, body, words):
    rec = Recorder({"https://feeds.example/bad.xml": body, "https://feeds.example/good.xml": GOOD_FEED,
                    "https://news.example/a1": httpx.Response(200, html=ARTICLE)})
    report = ws.ingest_urls(["https://feeds.example/bad.xml", "https://feeds.example/good.xml"], mode="feed",
                            fetcher=rec.fetcher())
    problem(ws, report.failed, "https://feeds.example/bad.xml", *words, status="failed")
    assert report.added == 1
    seeded.check()


def _resolver(host: str) -> list[str]:
    return {"localhost": ["127.0.0.1", "::1"], "intranet.example": ["10.0.0.5"],
            "mixed.example": [PUBLIC_IP, "192.168.1.10"]}.get(host, [PUBLIC_IP])


FORBIDDEN = [
    ("http://127.0.0.1/admin", "non-public address 127.0.0.1"),
    ("http://169.254.169.254/latest/meta-data/", "non-public address 169.254.169.254"),
    ("file:///etc/passwd", "only http(s)"),
    ("ftp://news.example/a.html", "only http(s)"),
    ("http://localhost/", "localhost resolves to non-public address"),
    ("http://intranet.example/wiki", "intranet.example resolves to non-public address 10.0.0.5"),
    ("http://mixed.example/", "non-public address 192.168.1.10"),
    ("http://[::1]:8080/", "non-public address ::1"),
    ("http://[::ffff:169.254.169.254]/", "non-public address"),
    ("http://0.0.0.0/", "non-public address 0.0.0.0"),
    ("http://127。0。0。1/", "non-public address 127.0.0.1"),  # ideographic full stops: httpx reads 127.0.0.1
    ("http://[::1/", "invalid URL"),
    ("http://news.example/\x00", "invalid URL"),
    ("http:///no-host", "no host"),
]


def test_forbidden_urls_are_refused_without_a_connection(ws, seeded):
    rec = Recorder({"https://news.example/a1": httpx.Response(200, html=ARTICLE)})
    urls = [u for u, _ in FORBIDDEN] + ["https://news.example/a1"]
    report = ws.ingest_urls(urls, fetcher=rec.fetcher(_resolver))
    assert rec.calls == ["https://news.example/a1"]  # nothing forbidden was ever requested
    assert len(report.failed) == len(FORBIDDEN)
    for url, words in FORBIDDEN:
        shown = visible_controls(url)  # a NUL in the URL is reported and stored as \x00
        p = next(x for x in report.failed if x.origin == shown)
        problem(ws, [p], shown, words, status="failed")
        assert p.reason.startswith("refused"), p
        if "non-public" in words:
            assert "--allow-private" in p.reason
    assert report.added == 1
    seeded.check()


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/", "http://169.254.169.254/", "http://127.1/",
                                 "http://2130706433/", "http://0x7f.0.0.1/", "http://[::1]/", "http://10.1.2.3/"])
def test_default_fetcher_refuses_private_addresses(ws, url, monkeypatch):
    """The real resolver and client: numeric hosts resolve locally, and nothing is connected to."""
    import socket

    def no_connect(self, address):
        raise AssertionError(f"connected to {address}")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    report = ws.ingest_urls([url])
    p = problem(ws, report.failed, url, status="failed")
    assert p.reason.startswith("refused") and ("non-public" in p.reason or "invalid URL" in p.reason), p


def test_feed_listing_internal_urls_only_fetches_public_ones(ws, seeded):
    feed = b"""<rss version="2.0"><channel>
      <item><title>metadata</title><link>http://169.254.169.254/latest/meta-data/iam</link></item>
      <item><title>intranet</title><link>http://intranet.example/secret</link></item>
      <item><title>local file</title><link>file:///etc/shadow</link></item>
      <item><title>ok</title><link>https://news.example/a1</link></item>
    </channel></rss>"""
    rec = Recorder({"https://feeds.example/rss": feed, "https://news.example/a1": httpx.Response(200, html=ARTICLE)})
    report = ws.ingest_urls(["https://feeds.example/rss"], mode="feed", fetcher=rec.fetcher(_resolver))
    assert rec.calls == ["https://feeds.example/rss", "https://news.example/a1"]
    assert report.added == 1 and len(report.failed) == 3
    for u in ("http://169.254.169.254/latest/meta-data/iam", "http://intranet.example/secret", "file:///etc/shadow"):
        assert problem(ws, report.failed, u).reason.startswith("refused")
    seeded.check()


BAD_DATES = ["99999999999999999999", "²²²²²²²²²", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
             "2026-13-45", "-1", "NaN"]


def test_hostile_dates_are_no_date_not_a_crash(ws, tmp_path, seeded):
    d = tmp_path / "batch"
    write(d / "dates.jsonl", "\n".join(json.dumps({"text": f"Record {i}: the Front is a cult, officials said.",
                                                    "date": v}) for i, v in enumerate(BAD_DATES)))
    write(d / "dates.csv", "text,published\n" + "".join(f"Row {i} says the group has no base at home.,{v}\n"
                                                        for i, v in enumerate(BAD_DATES)))
    write(d / "tg" / "result.json", json.dumps({"name": "Chan", "messages": [
        {"id": i, "type": "message", "text": f"Message {i} calls the protests foreign-made.",
         **({"date_unixtime": v} if v.isdigit() else {"date": v})} for i, v in enumerate(BAD_DATES)]}))
    write(d / "meta-date.html", article_html("Bad meta date", [P1, P2], published="0001-01-01T00:00:00+14:00"))
    good_doc(d)
    report = ws.ingest([str(d)])
    n = len(BAD_DATES)
    for prefix in ("dates.jsonl#", "dates.csv#", "result.json#"):
        docs = [x for x in ws.documents() if prefix in x.origin]
        assert len(docs) == n and all(x.published_at is None for x in docs), (prefix, report.as_dict())
    # a page whose meta date cannot be used: kept without a date, or failed with a one-line reason
    if not any(x.origin.endswith("meta-date.html") for x in ws.documents()):
        problem(ws, report.failed, "meta-date.html", status="failed")
    assert_added(ws, report, "good.txt")
    seeded.check()
