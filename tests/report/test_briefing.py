"""The briefing's shape on a tiny invented workspace (fictional Velmar and its outlets): a bottom line
that quotes both sides of the strongest cross-audience pair, English renderings of the Persian side
marked with where they came from (analyst's translation, else a gloss), undated documents counted,
no repeated sentence, quote marks never doubled, stable footnotes — and the translation store
behind it (limits, re-runs, export, CLI, API)."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
import yaml

SOURCES = {
    "actors": [{"id": "velmar-state", "name": "Government of Velmar", "kind": "state"}],
    "sources": [
        {"id": "vh", "name": "Velmar Herald", "actor": "velmar-state", "audience": "domestic", "language": "fa"},
        {"id": "vw", "name": "Velmar World Service", "actor": "velmar-state", "audience": "foreign", "language": "en"},
    ],
}
NARRATIVES = {"narratives": [
    {"id": "no-base", "name": "The League has no base at home",
     "assertions": ["The Lantern League has no supporters inside Velmar.",
                    "لیگ فانوس در داخل ولمار هیچ هواداری ندارد."],
     "counters": ["The Lantern League has many supporters inside Velmar."]},
    {"id": "league-riots", "name": "The League organises the street protests",
     "assertions": ["The Lantern League is organising the protests in the capital."],
     "counters": []},
]}
FA_TEXT = "«لیگ فانوس اعتراضات خیابانی پایتخت را سازماندهی می‌کند.» این را سخنگو گفت."
EN_TEXT = '"The Lantern League has no supporters inside Velmar at all." The ministry said so on Monday.'
UNDATED = "The Lantern League has no supporters inside Velmar, an editorial said."


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from sqlalchemy import select

    from narratrace.ingest.items import RawItem
    from narratrace.store.models import (
        Actor,
        Contradiction,
        Document,
        Narrative,
        NarrativeMatch,
        NarrativeStatement,
        Sentence,
    )
    from narratrace.workspace import Workspace

    d = tmp_path_factory.mktemp("briefing")
    (d / "sources.yaml").write_text(yaml.safe_dump(SOURCES, allow_unicode=True))
    (d / "narratives.yaml").write_text(yaml.safe_dump(NARRATIVES, allow_unicode=True))
    w = Workspace(d / "b.db", create=True)
    w.import_sources(d / "sources.yaml")
    w.import_narratives(d / "narratives.yaml")
    w.ingest_items([
        RawItem(origin="t#1", kind="record", source="vw", language="en", url="https://vw.example/1",
                published_at=datetime(2026, 4, 2, 9), text=EN_TEXT),
        RawItem(origin="t#2", kind="record", source="vh", language="fa", url="https://vh.example/1",
                published_at=datetime(2026, 4, 3, 7), text=FA_TEXT),
        RawItem(origin="t#3", kind="record", source="vw", language="en", url="https://vw.example/2",
                published_at=None, text=UNDATED),
    ], workers=1)
    with w.sessions.begin() as s:  # matches and a contradiction written as the stages would
        first = {}
        for doc in s.scalars(select(Document)):
            first[doc.origin] = s.scalars(select(Sentence).where(Sentence.document_id == doc.id)
                                          .order_by(Sentence.idx)).first()
        nid = {n.key: n.id for n in s.scalars(select(Narrative))}
        stmt = {t.text: t.id for t in s.scalars(select(NarrativeStatement))}

        def match(origin, key, statement):
            s.add(NarrativeMatch(sentence_id=first[origin].id, narrative_id=nid[key], similarity=0.9,
                                 sim_assertion=0.9, stance="asserts", stance_score=0.9, p_related=0.9,
                                 statement_id=stmt[statement], embed_model="test", run_at=datetime(2026, 4, 4)))

        match("t#1", "no-base", NARRATIVES["narratives"][0]["assertions"][0])
        match("t#3", "no-base", NARRATIVES["narratives"][0]["assertions"][0])
        match("t#2", "league-riots", NARRATIVES["narratives"][1]["assertions"][0])
        actor = s.scalar(select(Actor.id).where(Actor.key == "velmar-state"))
        s.add(Contradiction(actor_id=actor, sentence_a_id=first["t#1"].id, sentence_b_id=first["t#2"].id,
                            kind="narratives", narrative_a_id=nid["no-base"], narrative_b_id=nid["league-riots"],
                            score=0.72, cross_audience=True, cross_language=True, run_at=datetime(2026, 4, 4)))
        ids = {k: v.id for k, v in first.items()}
    w.test_sentences = ids
    yield w
    w.close()


def _brief(ws, **kw):
    from narratrace.report.briefing import build_briefing

    return build_briefing(ws, chart_format="svg", **kw)


def test_bottom_line_quotes_both_sides_with_a_gloss_then_the_translation(ws):
    from narratrace.report.briefing import render_html, render_markdown

    b = _brief(ws)
    bottom = b.sections[0]
    assert bottom.key == "bottom-line" and 1 <= len(bottom.sentences) <= 5
    lead = bottom.sentences[0].text
    # both quotes, without the marks the stored spans carried, each quoted once by the briefing
    assert "“The Lantern League has no supporters inside Velmar at all.”" in lead
    assert "“لیگ فانوس اعتراضات خیابانی پایتخت را سازماندهی می‌کند.”" in lead
    assert "Velmar Herald" in lead and "Velmar World Service" in lead and "model probability 0.72" in lead
    # no translation stored yet: the Persian side is glossed with the matched English statement, as a gloss
    fa = next(e for e in b.evidence if e.language == "fa")
    assert fa.rendering_kind == "gloss" and "not a translation" in fa.rendering_label
    assert fa.rendering == "The Lantern League is organising the protests in the capital."
    assert "gloss, not a translation" in lead and "translation:" not in lead.replace("not a translation:", "")
    en = next(e for e in b.evidence if e.language == "en")
    assert en.rendering_kind is None
    html, md = render_html(b), render_markdown(b)
    for out in (html, md):
        assert not re.search(r"[“”]\s*[\"«»“”]|[\"«»“”]\s*[“”]{2}", out.replace("“”", ""))  # never “"…"” or “«…»”
    assert '“<bdi dir="rtl" lang="fa">' in html  # marks outside the isolated Persian run: never reversed
    assert 'title="outlet id: vh"' in html and "(vh" not in md  # names shown, keys in a tooltip

    t = ws.translate("The Lantern League is organising the street protests in the capital.",
                     sentence_id=ws.test_sentences["t#2"], translator="ana", note="literal")
    assert t.original.startswith("«") and t.language == "en"
    b2 = _brief(ws)
    fa2 = next(e for e in b2.evidence if e.language == "fa")
    assert fa2.rendering_kind == "translation" and fa2.rendering_label.startswith("Analyst's translation")
    assert "by ana" in fa2.rendering_label and "whole sentence" not in fa2.rendering_label  # the span is the sentence
    assert "analyst's translation: “The Lantern League is organising the street protests" in b2.sections[0].sentences[0].text


def test_counts_include_undated_and_nothing_repeats(ws):
    from narratrace.report.briefing import render_markdown

    b = _brief(ws, narrative="no-base")
    reach = b.sections[0].sentences[1].text
    assert "in 2 documents, 1 of them undated" in reach, reach
    texts = [" ".join(s.text.split()).casefold() for s in b.sentences()]
    assert len(texts) == len(set(texts))
    caption = next(c.caption.text for sec in b.sections for c in sec.charts)
    assert "1 undated document is counted above but cannot be placed on the chart" in caption
    md = render_markdown(b)
    assert re.search(r"^\[\^\d+\]: .*Velmar World Service, foreign audience, English, undated, <https://vw",
                     md, re.M)
    bullets = [ln for ln in md.splitlines() if ln.startswith("- ")]
    assert len(bullets) == len(set(bullets))


def test_footnotes_are_stable_and_in_reading_order(ws):
    from narratrace.report.briefing import render_markdown

    a, b = _brief(ws), _brief(ws)
    assert [(e.n, e.document_id, e.start, e.end) for e in a.evidence] == \
        [(e.n, e.document_id, e.start, e.end) for e in b.evidence]
    first_seen = []
    for s in a.sentences():
        for n in s.refs:
            if n not in first_seen:
                first_seen.append(n)
    assert first_seen[: len(first_seen)] == sorted(first_seen)[: len(first_seen)] and first_seen[0] == 1
    strip = re.compile(r"^_Scope:.*$", re.M)  # the generation time is the only difference
    assert strip.sub("", render_markdown(a)) == strip.sub("", render_markdown(b))
    for ev in a.evidence:  # each footnote is an exact stored span
        assert ws.document(ev.document_id).text[ev.start:ev.end] == ev.quote


def test_trim_quote_keeps_inner_pairs():
    from narratrace.report.briefing import trim_quote

    def t(x):
        a, b = trim_quote(x)
        return x[a:b]

    assert t('"We will win."') == "We will win."
    assert t(" “A” and “B” ") == "“A” and “B”"
    assert t('"A" and "B"') == '"A" and "B"'
    assert t("We will win.”") == "We will win."
    assert t("«متن»") == "متن"
    assert t("the students’") == "the students’"


def test_translation_limits_errors_rerun_and_export(ws, tmp_path):
    from narratrace.errors import InvalidInput, NotFound, TooLarge
    from narratrace.store.queries.translations import MAX_NOTE_CHARS, MAX_TRANSLATION_CHARS

    sid = ws.test_sentences["t#2"]
    with pytest.raises(TooLarge, match=f"limit is {MAX_TRANSLATION_CHARS:,}"):
        ws.translate("x" * (MAX_TRANSLATION_CHARS + 1), sentence_id=sid)
    with pytest.raises(TooLarge, match="note"):
        ws.translate("ok", sentence_id=sid, note="n" * (MAX_NOTE_CHARS + 1))
    with pytest.raises(InvalidInput, match="empty"):
        ws.translate("   ", sentence_id=sid)
    with pytest.raises(NotFound, match="no sentence with id 999999"):
        ws.translate("ok", sentence_id=999999)
    with pytest.raises(InvalidInput, match="either a sentence id or a quote id"):
        ws.translate("ok")
    with pytest.raises(NotFound, match="no quote with id 424242"):
        ws.translate("ok", quote_id=424242)
    before = {(t.document_id, t.start, t.end): t.text for t in ws.translations()}
    ws.translate("Second wording.", sentence_id=ws.test_sentences["t#1"], language="de")
    rows = ws.translations()
    assert len(rows) == len(before) + 1 and {r.language for r in rows} >= {"de"}
    ws.translate("Third wording.", sentence_id=ws.test_sentences["t#1"], language="de")  # replaces
    assert [r.text for r in ws.translations(language="de")] == ["Third wording."]
    out = tmp_path / "t.jsonl"
    assert ws.export("translations", "jsonl", str(out)) == len(rows)
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert {"sentence_id", "original", "text", "translator", "at"} <= set(recs[0])


def test_translations_survive_a_rerun_of_the_stages(ws):
    """A re-analysis replaces matches and contradictions; translations are keyed by span and stay."""
    from sqlalchemy import delete

    from narratrace.store.models import Contradiction, NarrativeMatch

    ws.translate("Kept across re-runs.", sentence_id=ws.test_sentences["t#3"], language="fr")
    with ws.sessions.begin() as s:  # what a re-run's replacement does first
        s.execute(delete(NarrativeMatch).where(NarrativeMatch.sentence_id == ws.test_sentences["t#3"]))
        s.execute(delete(Contradiction).where(Contradiction.id < 0))
    assert [t.text for t in ws.translations(language="fr")] == ["Kept across re-runs."]


def test_translate_cli_and_api(ws):
    import typer
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from narratrace.cli.common import Group
    from narratrace.cli.report import register
    from narratrace.serve.app import create_app

    app = typer.Typer(cls=Group)
    register(app)
    runner = CliRunner()
    r = runner.invoke(app, ["translate", "--help"])
    assert r.exit_code == 0 and "Example:" in r.output
    sid = ws.test_sentences["t#1"]
    r = runner.invoke(app, ["translate", str(sid), "Eine Übersetzung.", "--language", "nl", "--translator", "kim",
                            "-w", ws.path])
    assert r.exit_code == 0 and "translation stored for sentence" in r.output, r.output
    r = runner.invoke(app, ["translate", str(sid), "y" * 5000, "-w", ws.path])
    assert r.exit_code == 1 and "limit is 4,000" in r.output
    r = runner.invoke(app, ["translations", "--json", "--language", "nl", "-w", ws.path])
    assert r.exit_code == 0 and json.loads(r.output)[0]["translator"] == "kim"

    tokens = {"v-token-0000001": ("vic", "viewer"), "a-token-0000002": ("ana", "analyst")}
    client = TestClient(create_app(ws, tokens=tokens, host="0.0.0.0"))
    view, analyst = {"Authorization": "Bearer v-token-0000001"}, {"Authorization": "Bearer a-token-0000002"}
    body = {"sentence_id": sid, "text": "Door de analist.", "language": "nl"}
    assert client.post("/api/translations", json=body, headers=view).status_code == 403
    r = client.post("/api/translations", json=body, headers=analyst)
    assert r.status_code == 200 and r.json()["translator"] == "ana", r.text
    r = client.post("/api/translations", json={**body, "text": "z" * 4001}, headers=analyst)
    assert r.status_code == 413 and "limit is 4,000" in r.text
    r = client.post("/api/translations", json={**body, "sentence_id": 987654}, headers=analyst)
    assert r.status_code == 400 and "no sentence" in r.text
    assert [t["text"] for t in client.get("/api/translations?language=nl", headers=view).json()] == ["Door de analist."]
    assert any(a.action == "translate" and a.user == "ana" for a in ws.audit())


def test_hostile_text_stays_inert_and_in_order():
    from narratrace.report.briefing import isolate, md_escape

    hostile = "<b onclick=x>Velmar</b> \u202eevil\u202c “لیگ فانوس‌ها” " + "w" * 10_000
    html = str(isolate(hostile))
    assert "<b onclick" not in html and "&lt;b onclick=x&gt;" in html and "\u202e" not in html
    assert '“<bdi dir="rtl">لیگ فانوس‌ها</bdi>”' in html  # one isolate across the ZWNJ, marks outside it
    md = md_escape(hostile)
    assert "\u202e" not in md and r"\<b onclick=x\>" in md and "“\u2067لیگ فانوس‌ها\u2069”" in md


def test_moving_to_the_annex_keeps_the_bottom_line_and_the_footnotes(ws):
    from narratrace.report.briefing import to_annex

    b = _brief(ws)
    bottom = [s.text for s in b.sections[0].sentences]
    numbers = [(e.n, e.document_id, e.start) for e in b.evidence]
    moves = 0
    while to_annex(b):
        moves += 1
    assert moves >= 1 and [s.text for s in b.sections[0].sentences] == bottom
    assert [(e.n, e.document_id, e.start) for e in b.evidence] == numbers  # same numbers in every format
    assert all(s.annex or s.key == "bottom-line" or not (s.sentences or s.pairs or s.charts) for s in b.sections)
