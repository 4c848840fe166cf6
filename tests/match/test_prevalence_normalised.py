"""Normalised prevalence (Media Cloud's view): beside each count, every document of that outlet /
audience / language in the period and the share carrying the narrative — the pure functions, the
Workspace and the CLI, on a tiny fictional corpus whose matches are written as the matcher would
write them (no model runs: the file stays fast). ``build`` is shared with
tests/serve/test_prevalence_page.py."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from conftest import write

from narratrace.ingest.items import RawItem

REGISTRY = """
actors:
  - {id: veltria-state, name: Government of Veltria}
sources:
  - {id: vv, name: Veltria Voice, actor: veltria-state, audience: foreign, language: en, domains: [vv.example]}
  - {id: mp, name: Morrow Post, audience: domestic, language: en, domains: [mp.example]}
  - {id: ic, name: '=HYPERLINK("http://evil.example") Isle Courier', audience: foreign, language: fa,
     domains: [ic.example]}
"""
NARRATIVES = """
narratives:
  - id: harbour-sabotage
    name: Foreign divers sabotaged the harbour
    assertions:
      - Foreign divers sabotaged the Lennox harbour.
"""
KEY = "harbour-sabotage"
MAY4, MAY5, MAY11 = datetime(2026, 5, 4, 9), datetime(2026, 5, 5, 9), datetime(2026, 5, 11, 9)
TOWNS = ["Lennox", "Arden", "Morrow", "Tally", "Brisk", "Oster", "Quill", "Harrow", "Vesk", "Pell"]
# (source, published_at, how many documents, how many of them carry the narrative)
PLAN = [("vv", MAY4, 4, 2), ("vv", MAY11, 2, 1), ("vv", None, 2, 1),
        ("mp", MAY4, 10, 1), ("ic", MAY5, 2, 2)]


def build(tmp: Path):
    """The workspace: vv 2 of 4 on May 4, 1 of 2 on May 11, 1 of 2 undated; mp 1 of 10 on May 4;
    ic (Persian) 2 of 2 on May 5. Returns the open Workspace."""
    from sqlalchemy import select

    from narratrace import Workspace
    from narratrace.store.models import Document, Narrative, NarrativeMatch, Sentence

    ws = Workspace(tmp / "ws.db", create=True)
    ws.import_sources(write(tmp / "sources.yaml", REGISTRY))
    ws.import_narratives(write(tmp / "narratives.yaml", NARRATIVES))
    items, carriers, n = [], [], 0
    for src, when, count, matched in PLAN:
        for i in range(count):
            n += 1
            town = TOWNS[n % len(TOWNS)]
            origin = f"{src}-{n}"
            if i < matched:
                claim = (f"Foreign divers sabotaged the harbour, officials in {town} said (report {n})."
                         if src != "ic" else f"غواصان خارجی بندر {town} را خراب کردند، شماره {n}.")
                carriers.append(origin)
            else:
                claim = f"The {town} council met {n} times to discuss road repairs and school budgets."
            items.append(RawItem(origin=origin, kind="record", source=src, published_at=when,
                                 language="fa" if src == "ic" else "en", url=f"https://{src}.example/{origin}",
                                 text=f"{claim} Weather notes for {town} number {n * 7} were filed."))
    ws.ingest_items(items)
    with ws.sessions.begin() as s:  # matches as the matcher writes them
        nid = s.scalar(select(Narrative.id).where(Narrative.key == KEY))
        for origin in carriers:
            doc = s.scalar(select(Document).where(Document.origin == origin))
            sent = min(s.scalars(select(Sentence).where(Sentence.document_id == doc.id)), key=lambda x: x.start)
            s.add(NarrativeMatch(sentence_id=sent.id, narrative_id=nid, similarity=0.9, sim_assertion=0.9,
                                 stance="asserts", stance_score=0.9, embed_model="test", run_at=datetime(2026, 5, 12),
                                 holder_kind="outlet"))
    return ws


@pytest.fixture(scope="module")
def nws(tmp_path_factory):
    ws = build(tmp_path_factory.mktemp("normalised"))
    yield ws
    ws.close()


def test_share_is_documents_over_the_groups_volume_in_the_period(nws):
    rows = nws.prevalence(by="source", narrative=KEY, normalise=True)
    got = {(r.period, r.group): (r.documents, r.volume, r.share) for r in rows}
    assert got == {("2026-05-04", "vv"): (2, 4, 0.5), ("2026-05-11", "vv"): (1, 2, 0.5),
                   ("2026-05-04", "mp"): (1, 10, 0.1), ("2026-05-05", "ic"): (2, 2, 1.0),
                   (None, "vv"): (1, 2, 0.5)}  # undated: over the outlet's undated documents, own row
    # raw counts are unchanged, and carry no share unless asked
    raw = nws.prevalence(by="source", narrative=KEY)
    assert [(r.period, r.group, r.documents) for r in raw] == [(r.period, r.group, r.documents) for r in rows]
    assert {r.share for r in raw} == {None}


def test_share_by_audience_week_and_language(nws):
    week = {(r.period, r.group): (r.documents, r.volume, r.share)
            for r in nws.prevalence(by="audience", period="week", narrative=KEY, normalise=True)}
    # week of Monday May 4: foreign = vv 4 + ic 2 documents, 4 of them carry it; domestic = mp 1 of 10
    assert week[("2026-05-04", "foreign")] == (4, 6, 0.6667)
    assert week[("2026-05-04", "domestic")] == (1, 10, 0.1)
    assert week[("2026-05-11", "foreign")] == (1, 2, 0.5)
    lang = {(r.period, r.group): r.share for r in nws.prevalence(by="language", period="month", narrative=KEY,
                                                                  normalise=True)}
    assert lang == {("2026-05-01", "en"): 4 / 16, ("2026-05-01", "fa"): 1.0, (None, "en"): 0.5}
    # the filters narrow the denominator too: Persian documents only
    fa = nws.prevalence(by="source", narrative=KEY, normalise=True, language="fa")
    assert [(r.group, r.documents, r.volume) for r in fa] == [("ic", 2, 2)]


def test_totals_are_normalised_by_each_groups_whole_volume(nws):
    totals = {t.group: (t.documents, t.dated, t.undated, t.volume, t.share)
              for t in nws.prevalence_totals(by="source", narrative=KEY, normalise=True)}
    assert totals == {"vv": (4, 3, 1, 8, 0.5), "mp": (1, 1, 0, 10, 0.1), "ic": (2, 2, 0, 2, 1.0)}
    assert {t.share for t in nws.prevalence_totals(by="source", narrative=KEY)} == {None}
    df = nws.prevalence(by="source", narrative=KEY, normalise=True).df()
    assert str(df["share"].dtype) == "Float64" and str(df["volume"].dtype) == "Int64"


def test_pure_functions_count_both_sides_the_same_way():
    from narratrace.report.prevalence import normalise, prevalence, volume

    # two copies of one syndicated story (group 1), one of them undated, and an unrelated document
    matched = [("n", 1, 1, datetime(2026, 5, 4), "a"), ("n", 2, 1, None, "a")]
    every = [(1, 1, datetime(2026, 5, 4), "a"), (2, 1, None, "a"), (3, 3, datetime(2026, 5, 4), "a")]
    each = normalise(prevalence(matched), volume(every))
    assert {(r.period, r.documents, r.volume, r.share) for r in each} == {("2026-05-04", 1, 2, 0.5),
                                                                          (None, 1, 1, 1.0)}
    once = normalise(prevalence(matched, unique=True), volume(every, unique=True))
    assert [(r.period, r.documents, r.volume, r.share) for r in once] == [("2026-05-04", 1, 2, 0.5)]
    # a group with no documents in a period has no share, not a division by zero
    assert normalise(prevalence(matched), {})[0].share is None
    # a period (or group) that published without carrying the narrative: share 0, not a gap
    more = every + [(4, 4, datetime(2026, 5, 6), "a"), (5, 5, datetime(2026, 5, 4), "b")]
    rows = normalise(prevalence(matched), volume(more))
    assert [(r.period, r.group, r.documents, r.volume, r.share) for r in rows] == [
        ("2026-05-04", "a", 1, 2, 0.5), ("2026-05-04", "b", 0, 1, 0.0), ("2026-05-06", "a", 0, 1, 0.0),
        (None, "a", 1, 1, 1.0)]


def test_cli_normalise_prints_volume_and_share(nws, tmp_path):
    from typer.testing import CliRunner

    from narratrace.cli.main import app

    w = ["-w", str(Path(nws.path))]
    r = CliRunner().invoke(app, ["narratives", "prevalence", KEY, "--by", "source", "--normalise", "--json", *w])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert {(x["group"], x["period"], x["share"]) for x in data["rows"]} >= {("mp", "2026-05-04", 0.1)}
    assert {t["group"]: t["share"] for t in data["totals"]} == {"vv": 0.5, "mp": 0.1, "ic": 1.0}
    r = CliRunner().invoke(app, ["narratives", "prevalence", KEY, "--by", "source", "--normalise", *w],
                           env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "10.0 %" in r.stdout and "share" in r.stdout
    spec = tmp_path / "share.json"
    r = CliRunner().invoke(app, ["narratives", "prevalence", KEY, "--by", "source", "--normalise",
                                 "--chart", str(spec), *w])
    assert r.exit_code == 0, r.output
    chart = json.loads(spec.read_text())
    assert chart["encoding"]["y"]["field"] == "share" and chart["mark"]["type"] == "line"
