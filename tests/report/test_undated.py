"""Undated documents are never silently dropped: prevalence rows and all-periods totals, the chart's
note, a narrative's spread (first among dated carriers, undated ones listed after), the CLI, the
REST API and the dashboard — on a tiny fictional corpus whose matches are written as the matcher
would write them (no model runs, so the file stays fast)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from conftest import write

from narratrace.ingest.items import RawItem

REGISTRY = """
actors:
  - {id: veltria-state, name: Government of Veltria}
sources:
  - {id: vv, name: Veltria Voice, actor: veltria-state, audience: foreign, language: en, domains: [vv.example]}
  - {id: mp, name: Morrow Post, audience: domestic, language: en, domains: [mp.example]}
  - {id: ic, name: Isle Courier, audience: foreign, language: en, domains: [ic.example]}
"""

NARRATIVES = """
narratives:
  - id: harbour-sabotage
    name: 'Foreign divers <b>sabotaged</b> the harbour'
    assertions:
      - Foreign divers sabotaged the Lennox harbour.
"""

# (origin, source, published_at, claim sentence, other sentence, holder kind of the claim's match)
DOCS = [
    ("vv-1", "vv", datetime(2026, 5, 4, 10), "Officials said foreign divers sabotaged the Lennox harbour.",
     "The port authority counted eleven damaged cranes.", "outlet"),
    ("vv-2", "vv", None, "Foreign divers wrecked the harbour gates at Lennox, the ministry said.",
     "Fishing boats stayed in port for a week.", "outlet"),
    ("mp-1", "mp", datetime(2026, 5, 6, 8), "Divers from abroad sabotaged the harbour, a minister claimed on radio.",
     "Traders complained about the closed market.", "outlet"),
    ("ic-1", "ic", None, "The Lennox harbour was sabotaged by foreign frogmen, the courier wrote.",
     "A storm was expected on the northern coast.", "outlet"),
    ("ic-2", "ic", None, "Saboteurs from overseas damaged the harbour cranes, according to the courier.",
     "The mayor opened a new school in the hills.", "outlet"),
    # a claim the outlet only reports is not its statement: never counted, dated or not
    ("mp-2", "mp", None, "State media claimed that foreign divers sabotaged the harbour.",
     "Independent engineers blamed rust for the collapse.", "reported"),
]
KEY = "harbour-sabotage"


@pytest.fixture(scope="module")
def uws(tmp_path_factory):
    from sqlalchemy import select

    from narratrace import Workspace
    from narratrace.store.models import Document, Narrative, NarrativeMatch, Sentence

    tmp = tmp_path_factory.mktemp("undated")
    ws = Workspace(tmp / "ws.db", create=True)
    ws.import_sources(write(tmp / "sources.yaml", REGISTRY))
    ws.import_narratives(write(tmp / "narratives.yaml", NARRATIVES))
    report = ws.ingest_items([RawItem(origin=o, kind="record", source=src, language="en", published_at=when,
                                      url=f"https://{src}.example/{o}", text=f"{claim} {other}")
                              for o, src, when, claim, other, _h in DOCS])
    with ws.sessions.begin() as s:  # matches as the matcher writes them
        nid = s.scalar(select(Narrative.id).where(Narrative.key == KEY))
        for origin, _src, _when, claim, _other, holder in DOCS:
            doc = s.scalar(select(Document).where(Document.origin == origin))
            sent = next(x for x in s.scalars(select(Sentence).where(Sentence.document_id == doc.id))
                        if doc.text[x.start:x.end].startswith(claim[:20]))
            s.add(NarrativeMatch(sentence_id=sent.id, narrative_id=nid, similarity=0.9, sim_assertion=0.9,
                                 stance="asserts", stance_score=0.9, embed_model="test", run_at=datetime(2026, 5, 7),
                                 holder_kind=holder))
    ws.path_for_tests = str(tmp / "ws.db")
    ws.ingest_report = report
    yield ws
    ws.close()


def test_the_corpus_is_what_the_tests_think(uws):
    assert uws.undated_documents() == 4  # vv-2, ic-1, ic-2, mp-2: the ingest kept them undated
    assert uws.ingest_report.as_dict()["undated_count"] == 4
    assert uws.undated_documents(source="ic") == 2


def test_prevalence_counts_undated_documents_in_their_own_row_and_the_totals(uws):
    from narratrace.report.prevalence import undated_note

    rows = uws.prevalence(by="source", narrative=KEY)
    got = {(r.period, r.group): r.documents for r in rows}
    assert got == {("2026-05-04", "vv"): 1, ("2026-05-06", "mp"): 1, (None, "ic"): 2, (None, "vv"): 1}
    assert [r.period for r in rows][-2:] == [None, None]  # dated periods first, undated last
    totals = {t.group: (t.documents, t.dated, t.undated) for t in uws.prevalence_totals(by="source", narrative=KEY)}
    assert totals == {"vv": (2, 1, 1), "mp": (1, 1, 0), "ic": (2, 0, 2)}  # the reported claim is not mp's
    assert undated_note(rows) == "3 undated documents not placed in time"
    assert rows.of.__name__ == "PrevalenceRow" and rows.df()["period"].isna().sum() == 2
    # a time filter cannot place an undated document either: only the dated ones are in range
    since = uws.prevalence(by="source", narrative=KEY, since="2026-05-05")
    assert {(r.period, r.group) for r in since} == {("2026-05-06", "mp")} and undated_note(since) == ""


def test_prevalence_pure_function_places_a_duplicate_group_at_its_dated_copy():
    from narratrace.report.prevalence import prevalence, totals, undated_note

    rows = [("n", 2, 1, None, "a"),  # an undated copy of group 1 read before its dated original
            ("n", 1, 1, datetime(2026, 5, 3, 9), "a"),
            ("n", 3, 3, None, "b"), ("m", 3, 3, None, "b")]
    uniq = prevalence(rows, period="week", unique=True)
    assert {(r.narrative, r.period, r.group): r.documents for r in uniq} == {
        ("n", "2026-04-27", "a"): 1, ("n", None, "b"): 1, ("m", None, "b"): 1}
    every = prevalence(rows, period="week")
    assert {(t.narrative, t.group): (t.documents, t.undated) for t in totals(every)} == {
        ("n", "a"): (2, 1), ("n", "b"): (1, 1), ("m", "b"): (1, 1)}
    # one document carrying two narratives is not added up across them
    assert undated_note(every) == ("1 undated document not placed in time (m); "
                                   "2 undated documents not placed in time (n)")


def test_the_chart_says_how_many_documents_it_cannot_place(uws, tmp_path):
    from narratrace.report.prevalence import chart

    spec = json.loads(chart(uws.prevalence(by="source", narrative=KEY), tmp_path / "c.json").read_text())
    assert spec["title"]["subtitle"] == ["3 undated documents not placed in time"]
    values = [v for ds in spec["datasets"].values() for v in ds]
    assert len(values) == 2 and all(v["period"] for v in values)  # only dated rows on the time axis


def test_spread_lists_undated_carriers_after_the_dated_ones(uws):
    steps = uws.narrative_spread(KEY)
    assert [(st.source, st.first, st.documents, st.undated) for st in steps] == [
        ("vv", datetime(2026, 5, 4, 10), 2, 1), ("mp", datetime(2026, 5, 6, 8), 1, 0), ("ic", None, 2, 2)]
    assert steps[2].text.startswith("The Lennox harbour was sabotaged")  # its lowest undated document
    assert steps.df()["first"].isna().tolist() == [False, False, True]


def test_cli_prints_totals_and_the_undated_note(uws):
    from typer.testing import CliRunner

    from narratrace.cli.main import app

    w = ["-w", uws.path_for_tests]
    run = CliRunner().invoke
    res = run(app, ["narratives", "prevalence", KEY, "--by", "source", *w], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "undated" in res.output and "all periods" in res.output
    assert "3 undated documents not placed in time" in res.output
    res = run(app, ["narratives", "prevalence", KEY, "--by", "source", "--json", *w])
    got = json.loads(res.stdout)
    assert got["undated"] == {KEY: 3} and {t["group"]: t["documents"] for t in got["totals"]} == {
        "vv": 2, "mp": 1, "ic": 2}
    assert any(r["period"] is None for r in got["rows"])
    res = run(app, ["provenance", "--narrative", KEY, *w], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "first: the earliest dated statement; 3 undated documents not placed in time" in res.output
    assert "(1 outlet only undated, listed last)" in res.output


def test_api_and_dashboard_show_the_undated_documents(uws):
    from fastapi.testclient import TestClient

    from narratrace.serve.app import create_app

    uws.analyze(["coordination"], options={"coordination": {"translations": False}})
    client = TestClient(create_app(uws))
    totals = client.get(f"/api/narratives/{KEY}/prevalence/totals?by=source").json()
    assert {t["group"]: t["undated"] for t in totals} == {"vv": 1, "mp": 0, "ic": 2}
    rows = client.get(f"/api/narratives/{KEY}/prevalence?by=source").json()
    assert sum(r["documents"] for r in rows if r["period"] is None) == 3
    spread = client.get(f"/api/narratives/{KEY}/spread").json()
    assert spread[-1]["source"] == "ic" and spread[-1]["first"] is None

    page = client.get("/").text
    assert "(4 undated, not placed in time)" in page
    page = client.get(f"/narratives/{KEY}?by=source").text
    assert "3 undated documents not placed in time (counted in the totals below" in page
    assert "Not placed in time" in page and "3 undated documents not placed in time." in page
    assert "<b>sabotaged</b>" not in page and "&lt;b&gt;sabotaged&lt;/b&gt;" in page  # autoescaped
    svg = client.get(f"/narratives/{KEY}/chart.svg?by=source")
    assert svg.status_code == 200 and "not placed in time" in svg.text
    page = client.get("/provenance").text
    assert 'data-undated="4"' in page and "could not group them" in page
