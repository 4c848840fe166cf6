"""The declared pipeline on a tiny real workspace: one analyze embeds once, runs the stages in the
declared order, records each stage's version, redoes a stage whose version changed, and the CLI
shows and selects stages (pipeline.py, context.py, Workspace.analyze)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import pytest
from conftest import write
from typer.testing import CliRunner

from narratrace import Workspace, pipeline
from narratrace.cli.main import app
from narratrace.context import REGISTRY
from narratrace.errors import Conflict, InvalidInput
from narratrace.ingest.items import RawItem
from narratrace.match import batches

SOURCES = """
actors:
  - {id: kv, name: Government of Kavaran}
sources:
  - {id: kt, name: Kavaran Today, actor: kv, audience: foreign, language: en, domains: [kt.example]}
  - {id: kna, name: Kavaran News Agency, actor: kv, audience: domestic, language: en, domains: [kna.example]}
"""
NARRATIVES = """
narratives:
  - id: no-support
    name: The Front has no support at home
    assertions: [The Rah-e Azadi Front has no support inside Kavaran.]
    contradicts: [organises-unrest]
  - id: organises-unrest
    name: The Front organises the unrest
    assertions: [The Rah-e Azadi Front organised the protests in many cities.]
"""


@pytest.fixture
def small(tmp_path):
    ws = Workspace(tmp_path / "p.db", create=True)
    ws.import_sources(write(tmp_path / "s.yaml", SOURCES))
    ws.import_narratives(write(tmp_path / "n.yaml", NARRATIVES))
    ws.ingest_items([
        RawItem(origin="a", kind="record", url="https://kt.example/a", published_at=datetime(2026, 3, 6),
                text="The minister said the Rah-e Azadi Front has no support inside Kavaran at all."),
        RawItem(origin="b", kind="record", url="https://kna.example/b", published_at=datetime(2026, 3, 4),
                text="The council said the Rah-e Azadi Front organised the protests in fourteen cities."),
    ], workers=1)
    yield ws
    ws.close()


def test_one_analyze_embeds_once_in_the_declared_order(small, monkeypatch):
    calls, order = [], []
    real = batches.embed_sentences
    monkeypatch.setattr(batches, "embed_sentences", lambda *a, **k: calls.append(1) or real(*a, **k))
    for name in pipeline.DEFAULT:  # record the order the stages actually run in
        st = REGISTRY[name]
        monkeypatch.setitem(REGISTRY, name, dataclasses.replace(
            st, run=lambda ctx, _st=st, **kw: order.append(_st.name) or _st.run(ctx, **kw)))
    rep = small.analyze()
    assert order == list(pipeline.DEFAULT) and list(rep) == list(pipeline.DEFAULT)
    assert len(calls) == 1  # match and contradictions no longer embed on their own
    assert rep["embed"]["indexed"] == 2 and rep["match"]["matches"] >= 2
    assert rep["contradictions"]["narratives"] >= 1  # the two incompatible narratives, across audiences
    (c,) = small.contradictions(limit=1)
    for side in "ab":  # the record carries each side's document and exact span
        doc = small.document(getattr(c, side + "_document_id"))
        assert doc.text[getattr(c, side + "_start"):getattr(c, side + "_end")] == getattr(c, side + "_text")
    states = {s["name"]: s for s in small.stages()}
    assert all(states[n]["last_version"] == REGISTRY[n].version for n in pipeline.DEFAULT)
    assert states["discover"]["last_run"] is None and states["discover"]["default"] is False


def test_selection_pulls_in_incremental_stages_and_refuses_an_unrun_requirement(small):
    with pytest.raises(Conflict, match="needs narrative_match from stage 'match'"):
        small.analyze(["contradictions"])  # match never ran here
    rep = small.analyze(["match", "contradictions"])
    assert list(rep) == ["embed", "quotes", "match", "contradictions"]  # embed, quotes pulled in: incremental
    assert list(small.analyze(["contradictions"])) == ["embed", "contradictions"]  # match ran before: fine
    with pytest.raises(InvalidInput, match="has no option nonsense"):
        small.analyze(["quotes"], options={"quotes": {"nonsense": 1}})
    with pytest.raises(InvalidInput, match="does not include"):
        small.analyze(["quotes"], options={"match": {"keys": ["no-support"]}})


def test_a_new_stage_version_redoes_the_stage(small, monkeypatch):
    small.analyze(["quotes"])
    assert small.analyze(["quotes"])["quotes"]["documents"] == 0  # incremental: nothing new
    monkeypatch.setitem(REGISTRY, "quotes", dataclasses.replace(REGISTRY["quotes"], version="quotes-next"))
    assert small.analyze(["quotes"])["quotes"]["documents"] == 2  # the version changed: every document again
    assert {s["name"]: s["last_version"] for s in small.stages()}["quotes"] == "quotes-next"


def test_cli_lists_and_selects_stages(small):
    r = CliRunner().invoke(app, ["analyze", "--list-stages", "--json", "-w", small.path])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [x["name"] for x in rows] == list(pipeline.ORDER)
    assert rows[0]["requires"] == ["sentences"] and rows[0]["writes"] == ["sentence_vectors"]
    r = CliRunner().invoke(app, ["analyze", "--stages", "quotes,coordination", "--json", "-w", small.path])
    assert r.exit_code == 0, r.output
    assert list(json.loads(r.stdout)) == ["quotes", "coordination"]
    r = CliRunner().invoke(app, ["analyze", "--stages", "contradictions", "-w", small.path])
    assert r.exit_code == Conflict.exit_code and "has not run" in r.output  # one line, no traceback
    r = CliRunner().invoke(app, ["analyze", "--stages", "bogus", "-w", small.path])
    assert r.exit_code == 1 and "unknown stage 'bogus'" in r.output


def test_the_api_runs_the_same_pipeline(small):
    from fastapi.testclient import TestClient

    from narratrace.serve.app import create_app

    client = TestClient(create_app(small))  # open mode on loopback: the analyst role, CSRF header needed
    csrf = {"X-Narratrace": "1"}
    assert [s["name"] for s in client.get("/api/stages").json()] == list(pipeline.ORDER)
    r = client.post("/api/analyze", json={"stages": ["contradictions"]}, headers=csrf)
    assert r.status_code == Conflict.status == 409 and "has not run" in r.json()["detail"]
    r = client.post("/api/analyze", json={"stages": ["quotes", "coordination"],
                                          "options": {"coordination": {"translations": False}}}, headers=csrf)
    assert r.status_code == 200, r.text
    assert list(r.json()["stages"]) == ["quotes", "coordination"] and r.json()["stages"]["quotes"]["documents"] == 2
    assert client.get("/api/audit").json()[0]["action"] == "analyze"
    r = client.post("/api/analyze", json={"stages": ["bogus"]}, headers=csrf)
    assert r.status_code == 422  # the spec lists the declared stages
    r = client.post("/api/analyze", json={"stages": ["quotes"], "options": {"quotes": {"nope": 1}}}, headers=csrf)
    assert r.status_code == 400 and "has no option nope" in r.json()["detail"]
