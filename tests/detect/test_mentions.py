"""Who quotes and who names an entity (`narratrace entities mentions`, the Workspace, the REST API),
and the quote carrier ("Agency quoted X as saying") stored with each quote: a small fictional corpus
in English and Persian, every outlet, person and place invented."""

import json

import pytest
from conftest import article_html, write

SOURCES = """
actors: [{id: ostra-state, name: Government of Ostra}]
sources:
- {id: nh, name: Nordvik Herald, audience: foreign, domains: [nh.example]}
- {id: cp, name: Calder Post, actor: ostra-state, audience: domestic, domains: [cp.example]}
- {id: vw, name: Velloria Wire, audience: foreign, domains: [vw.example]}
"""
ENTITIES = """
entities:
- {id: teodor-marsk, name: Teodor Marsk, aliases: {en: [Marsk], fa: [تئودور مارسک]}}
- {id: lina-orvé, name: Lina Orve}
- {id: velloria, name: Velloria, kind: place}
"""
PAGES = {  # file: (url, published, language, paragraphs)
    "nh1.html": ("https://nh.example/a/1", "2026-02-10T09:00:00Z", "en", [
        "The Ostra Press Agency quoted Teodor Marsk as saying \"the border talks have failed for good\".",
        "Marsk met the trade ministers of Velloria on Sunday evening."]),
    "cp1.html": ("https://cp.example/a/1", "2026-02-20T12:00:00Z", "en", [
        "Teodor Marsk said on Thursday that \"the northern harbour will reopen in the spring\".",
        "Critics in Velloria said the promise was empty."]),
    "cp2.html": ("https://cp.example/a/2", "2026-03-05T08:30:00Z", "en", [
        "A portrait of Teodor Marsk now hangs in the parliament hall of Velloria.",
        "Visitors queued for hours to see the new exhibition."]),
    "vw1.html": ("https://vw.example/fa/1", None, "fa", [  # undated: counted, never placed in a month
        "به گزارش خبرگزاری اوسترا، تئودور مارسک گفت: «مذاکرات مرزی برای همیشه تمام شد.»",
        "این سخنان در پایتخت واکنش‌های زیادی برانگیخت."]),
    "vw2.html": ("https://vw.example/a/2", "2026-03-06T10:00:00Z", "en", [
        "The weather in Velloria stayed calm all week and the markets were quiet.",
        "Farmers expect a good harvest this year."]),
}


@pytest.fixture(scope="module")
def mws(tmp_path_factory):
    from narratrace.workspace import Workspace

    d = tmp_path_factory.mktemp("mentions")
    for name, (url, published, lang, paras) in PAGES.items():
        write(d / "in" / name, article_html(paras[0][:40], paras, url=url, published=published, lang=lang))
    ws = Workspace(d / "m.db", create=True)
    ws.import_sources(write(d / "sources.yaml", SOURCES))
    ws.import_entities(write(d / "entities.yaml", ENTITIES))
    ws.ingest([str(d / "in")])
    ws.analyze(["quotes"])
    yield ws
    ws.close()


def test_counts_by_outlet_and_month_and_exact_spans(mws):
    m = mws.entity_mentions("teodor-marsk")
    assert m.entity.key == "teodor-marsk" and m.entity.name == "Teodor Marsk"
    assert m.documents == 4 and m.undated == 1  # vw2 never names him; vw1 has no date
    assert m.quotes == 3  # nh1, cp1 and the Persian vw1: he is the speaker of each
    assert m.mentions >= 4 and m.shown == m.quotes + m.mentions
    outlets = {c.group: c for c in m.by_outlet}
    assert set(outlets) == {"nh", "cp", "vw"}
    assert outlets["cp"].name == "Calder Post" and outlets["cp"].documents == 2 and outlets["cp"].quotes == 1
    assert outlets["vw"].quotes == 1 and outlets["vw"].documents == 1
    assert m.by_outlet[0].group == "cp"  # the outlet naming him in most documents first
    assert [(c.group, c.documents) for c in m.by_month] == [("2026-02", 2), ("2026-03", 1), (None, 1)]
    for it in m.items:
        text = mws.document(it.document_id).text
        assert text[it.start:it.end] == it.text  # every place is an exact span of the stored text
        assert it.context == text[it.context_start:it.context_start + len(it.context)]
        assert it.context_start <= it.start and it.end <= it.context_start + len(it.context)
        assert it.entity == "teodor-marsk" and it.outlet and it.source
    dated = [it.published_at for it in m.items if it.published_at]
    assert dated == sorted(dated) and m.items[-1].published_at is None  # oldest first, undated last
    quotes = {it.text for it in m.items if it.kind == "quote"}
    assert quotes == {"the border talks have failed for good", "the northern harbour will reopen in the spring",
                      "مذاکرات مرزی برای همیشه تمام شد."}
    names = {it.text for it in m.items if it.kind == "mention"}
    assert {"Teodor Marsk", "Marsk", "تئودور مارسک"} <= names
    assert mws.entity_mentions("lina-orvé").documents == 0  # registered, never named: empty, not an error


def test_quote_carrier_is_stored_and_shown(mws):
    by_text = {q.text: q for q in mws.quotes(speaker="teodor-marsk")}
    agency = by_text["the border talks have failed for good"]
    assert agency.carrier == "The Ostra Press Agency" and agency.speaker == "Teodor Marsk"
    assert by_text["مذاکرات مرزی برای همیشه تمام شد."].carrier == "خبرگزاری اوسترا"
    assert by_text["the northern harbour will reopen in the spring"].carrier is None  # he speaks directly
    spans = mws.document_spans(agency.document_id)
    (carrier,) = [sp for sp in spans if sp.kind == "carrier"]
    assert carrier.text == "The Ostra Press Agency" and carrier.quote_id == agency.id
    via = [it for it in mws.entity_mentions("teodor-marsk", kind="quote").items if it.carrier]
    assert {it.carrier for it in via} == {"The Ostra Press Agency", "خبرگزاری اوسترا"}


def test_filters_kind_limit_and_errors(mws):
    from narratrace.errors import InvalidInput, NotFound

    q = mws.entity_mentions("teodor-marsk", kind="quote")
    assert q.mentions == 0 and q.quotes == 3 and {it.kind for it in q.items} == {"quote"}
    cp = mws.entity_mentions("teodor-marsk", source="cp")
    assert [c.group for c in cp.by_outlet] == ["cp"] and cp.documents == 2
    march = mws.entity_mentions("teodor-marsk", since="2026-03-01")
    assert march.documents == 1 and march.undated == 0 and {it.document_id for it in march.items} == {
        mws.entity_mentions("teodor-marsk", source="cp", since="2026-03-01").items[0].document_id}
    assert mws.entity_mentions("teodor-marsk", actor="ostra-state").by_outlet[0].group == "cp"
    assert mws.entity_mentions("teodor-marsk", language="fa").quotes == 1
    few = mws.entity_mentions("teodor-marsk", limit=2)
    assert few.shown == len(few.items) == 2 and few.documents == 4  # counts cover every match
    with pytest.raises(NotFound, match="unknown entity 'teodor-mask'; did you mean 'teodor-marsk'"):
        mws.entity_mentions("teodor-mask")
    with pytest.raises(InvalidInput, match="unknown kind 'quotes'"):
        mws.entity_mentions("teodor-marsk", kind="quotes")
    with pytest.raises(InvalidInput, match="unknown source 'cpp'"):
        mws.entity_mentions("teodor-marsk", source="cpp")


def test_cli_and_api(mws):
    from fastapi.testclient import TestClient
    from pydantic import TypeAdapter
    from typer.testing import CliRunner

    from narratrace.cli.main import app
    from narratrace.records import EntityMentions
    from narratrace.serve.app import create_app

    run = CliRunner().invoke
    w = ["--workspace", str(mws.path)]
    res = run(app, ["entities", "mentions", "teodor-marsk", "--json", *w])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["entity"]["key"] == "teodor-marsk" and data["quotes"] == 3
    assert {c["group"] for c in data["by_outlet"]} == {"nh", "cp", "vw"}
    assert {i["outlet"] for i in data["items"]} == {"Nordvik Herald", "Calder Post", "Velloria Wire"}
    res = run(app, ["entities", "mentions", "teodor-marsk", "--source", "nh", *w])
    assert res.exit_code == 0 and "Nordvik Herald" in res.stdout and "Calder Post" not in res.stdout, res.output
    assert "quote (via The Ostra Press Agency): “the border talks have failed for good”" in res.stdout
    res = run(app, ["entities", "mentions", "nobody-here", *w])
    assert res.exit_code == 1 and "unknown entity 'nobody-here'" in res.output
    res = run(app, ["entities", "mentions", "--help"])
    assert res.exit_code == 0 and "Example: narratrace entities mentions" in res.stdout

    client = TestClient(create_app(mws))
    r = client.get("/api/entities/teodor-marsk/mentions", params={"kind": "mention", "until": "2026-02-28"})
    assert r.status_code == 200, r.text
    body = r.json()
    TypeAdapter(EntityMentions).validate_python(body)  # the answer agrees with the documented response model
    assert body["quotes"] == 0 and body["documents"] == 2 and body["filters"]["until"].startswith("2026-02-28")
    assert all(i["kind"] == "mention" and i["published_at"].endswith("Z") for i in body["items"])
    assert client.get("/api/entities/teodor-mask/mentions").status_code == 404
    assert client.get("/api/entities/teodor-marsk/mentions", params={"audience": "foriegn"}).status_code == 400
