import io
import json
import re

from conftest import article_html, write

from narratrace.ingest.items import RawItem

BODY = "The spokesman said the Front has no support inside the country. He added that the group is a cult."


def _pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with real text operators (what a press-release PDF carries)."""
    ops = ["BT", "/F1 11 Tf", "72 740 Td", "14 TL"]
    for ln in lines:
        ops.append("(" + ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + o + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def test_every_local_format(ws, tmp_path):
    d = tmp_path / "in"
    write(d / "a.html", article_html("Minister on the Front", [BODY, "A second paragraph of real reporting follows here."],
                                     url="https://kt.example/a", published="2026-01-05T09:05:00+03:30"))
    write(d / "b.txt", "Interview transcript\nDate: 2026-02-03 18:30 +03:30\n\n" + BODY + "\n\nShare this:\nPrint\n")
    write(d / "c.md", "# Press note\n\n**Dastgerd** — the [ministry](https://x.example) said: " + BODY + "\n\n- one point\n")
    write(d / "sub" / "d.pdf", _pdf(["Statement of the Ministry", "The Ministry says the Front has no support",
                                     "inside the country, and that it is a cult."]))
    write(d / "e.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"text": "Post one: the Front is a fringe group of exiles abroad.", "url": "https://t.example/1",
         "published_at": "2026-01-07T10:00:00Z"},
        {"text": "پست دوم: جبهه پشت اغتشاشات دانشگاه است.", "date": "1767780000"},
    ]))
    write(d / "g" / "result.json", json.dumps({"name": "Kavaran Voice", "type": "public_channel", "id": 5, "messages": [
        {"id": 1, "type": "service", "date": "2026-01-10T08:00:00", "action": "create_channel"},
        {"id": 2, "type": "message", "date": "2026-01-10T08:15:00", "date_unixtime": "1768032900",
         "from": "Kavaran Voice", "text": ["جبهه ", {"type": "bold", "text": "عامل اغتشاشات"}, " است."]},
        {"id": 3, "type": "message", "date": "2026-01-10T09:00:00", "text": ""},
    ]}, ensure_ascii=False))
    write(d / "ignored.png", b"\x89PNG\r\n")
    report = ws.ingest([str(d)])
    csv_path = write(tmp_path / "f.csv",
                     "headline,body,when\nCSV one,The Front has no roots at home; officials repeat.,2026-01-09\n")
    csv_report = ws.ingest([str(csv_path)], mapping={"title": "headline", "text": "body", "published_at": "when"})
    by_type = {doc.content_type: doc for doc in ws.documents(with_text=True)}
    assert report.added == 7 and csv_report.added == 1, report.as_dict()
    assert [p.reason for p in report.skipped] == ["unsupported file type '.png'"]
    assert set(by_type) == {"html", "text", "markdown", "pdf", "record"}
    assert by_type["html"].published_at.isoformat() == "2026-01-05T05:35:00"
    txt = by_type["text"]
    assert txt.title == "Interview transcript" and txt.published_at.isoformat() == "2026-02-03T15:00:00"
    assert "Share this" not in txt.text and "Print" not in txt.text and "Date:" not in txt.text
    md = by_type["markdown"].text
    assert "# " not in md and "**" not in md and "the ministry said" in md
    pdf = by_type["pdf"].text
    assert "The Ministry says the Front has no support inside the country, and that it is a cult." in pdf
    docs = ws.documents(with_text=True)
    csv_doc = next(x for x in docs if x.origin.endswith("f.csv#2"))
    assert csv_doc.title == "CSV one" and csv_doc.published_at.isoformat() == "2026-01-09T00:00:00"
    tg = next(x for x in docs if x.origin.endswith("result.json#2"))
    assert tg.text == "جبهه عامل اغتشاشات است." and tg.language == "fa"
    assert tg.published_at.isoformat() == "2026-01-10T08:15:00"
    unix = next(x for x in docs if x.origin.endswith("e.jsonl#2"))
    assert unix.published_at.isoformat() == "2026-01-07T10:00:00"


def test_idempotent_reingest_adds_nothing(ws, tmp_path):
    write(tmp_path / "a.txt", "Title\n" + BODY)
    write(tmp_path / "b.jsonl", json.dumps({"text": BODY + " More."}) + "\n")
    first = ws.ingest([str(tmp_path)])
    again = ws.ingest([str(tmp_path)])
    assert first.added == 2 and again.added == 0 and again.already_present == 2
    assert ws.stats()["documents"] == 2


def test_warc(ws, tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path = tmp_path / "crawl.warc.gz"
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for i in range(2):
            html = article_html(f"Crawled {i}", [BODY + f" Item {i} is distinct in its own way."]).encode()
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(f"https://kt.example/{i}", "response", payload=io.BytesIO(html),
                                                http_headers=headers))
        img = StatusAndHeaders("200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("https://kt.example/x.png", "response", payload=io.BytesIO(b"\x89PNG"),
                                            http_headers=img))
    report = ws.ingest([str(path)])
    assert report.added == 2
    assert {d.url for d in ws.documents()} == {"https://kt.example/0", "https://kt.example/1"}
    assert "not HTML" in report.skipped[0].reason


def test_mixed_language_document_has_per_sentence_languages(ws):
    text = ("The minister spoke to foreign reporters about the Front and its supporters abroad. "
            "«این گروه هیچ پایگاهی در داخل کشور ندارد و فقط چند فراری در خارج است.» "
            "He then left the hall without taking any further questions from the press.")
    report = ws.ingest_items([RawItem(origin="mixed", kind="record", text=text)])
    doc = ws.document(report.document_ids[0])
    assert doc.language == "en"
    assert [s.language for s in doc.sentences] == ["en", "fa", "en"]


def test_record_containers_in_any_encoding_are_streamed(ws, tmp_path):
    """JSONL/CSV exports arrive with BOMs and in UTF-16 (Excel); each must give the same records."""
    rows = [{"text": "نخستین پیام: جبهه در داخل کشور هیچ پایگاهی ندارد.", "title": "یک"},
            {"text": "Second post: the Front organised the campus unrest, officials said.", "title": "two"}]
    jsonl = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
    csv_text = "title,text\n" + "".join(f"{r['title']},\"{r['text']}\"\n" for r in rows)
    write(tmp_path / "a" / "bom8.jsonl", "\ufeff" + jsonl)
    write(tmp_path / "b" / "u16.jsonl", jsonl.encode("utf-16"))
    write(tmp_path / "c" / "u16.csv", csv_text.encode("utf-16"))
    write(tmp_path / "d" / "bad-line.jsonl", jsonl + "{not json\n")
    texts = {f"{r['title']}\n\n{r['text']}" for r in rows}  # a record's title is its first paragraph
    for sub in "abc":
        report = ws.ingest([str(tmp_path / sub)])
        assert report.added + report.already_present == 2 and not report.failed, (sub, report.as_dict())
    assert {d.text for d in ws.documents(with_text=True)} == texts
    assert {d.title for d in ws.documents()} == {"یک", "two"}
    bad = ws.ingest([str(tmp_path / "d")])
    assert bad.already_present == 2 and [p.origin.endswith("bad-line.jsonl#3") for p in bad.failed] == [True]


def test_warc_record_cut_short_or_with_a_wrong_length_is_reported_not_stored(ws, tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    def archive(n: int) -> bytes:
        buf = io.BytesIO()
        w = WARCWriter(buf, gzip=False)
        for i in range(n):
            html = article_html(f"Story {i}", [f"Paragraph {i} about the harbour in Lennox. " * 12]).encode()
            hh = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.0")
            w.write_record(w.create_warc_record(f"https://kt.example/w{i}", "response", payload=io.BytesIO(html),
                                                http_headers=hh))
        return buf.getvalue()

    data = archive(3)
    write(tmp_path / "cut" / "crawl.warc", data[: int(len(data) * 0.8)])  # ends inside the third record
    report = ws.ingest([str(tmp_path / "cut")])
    assert report.added == 2
    assert any("cut short" in p.reason and p.origin.endswith("w2") for p in report.failed), report.as_dict()
    # an inflated Content-Length: the first record claims the bytes of the next one
    first, rest = data.split(b"\r\n\r\nWARC/1.0", 1)[0], b"WARC/1.0" + data.split(b"\r\n\r\nWARC/1.0", 1)[1]
    head, _, _ = first.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    bad = first.replace(f"Content-Length: {length}".encode(), f"Content-Length: {length + 200}".encode(), 1)
    write(tmp_path / "long" / "crawl.warc", bad + b"\r\n\r\n" + rest)
    report = ws.ingest([str(tmp_path / "long")])
    assert any("digest does not match" in p.reason or "unreadable" in p.reason for p in report.failed), report.as_dict()
