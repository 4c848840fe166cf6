"""Entities and aliases, speakers and recycled sources, quote trails, narrative spread, the citation
graph: unit tests on the pure functions, then the Workspace end to end on a small fictional corpus."""

from datetime import datetime, timedelta

import networkx as nx
import numpy as np
import pytest
from conftest import article_html, write

from narratrace.detect.provenance import citation_graph, narrative_spread, quote_trails, speakers
from narratrace.enrich.entities import EntityError, Gazetteer, fold, load_entities, normalize

REGISTRY = """
entities:
- id: henrik-vallo
  name: Henrik Vallo
  kind: person
  aliases: {en: [Ambassador Vallo], fa: [هنریک والو]}
- id: dastgerd
  name: Dastgerd
  kind: place
- id: bahram-nikzad
  name: Bahram Nikzad
  actor: kavaran-state
  aliases: {fa: [بهرام نیکزاد, نیک‌زاد]}
"""


def test_fold_keeps_length_and_unifies_persian_letters():
    s = "Bahram NIKZAD گفت ي ك نیک\u200cزاد İstanbul"
    assert len(fold(s)) == len(s)
    assert "ی ک" in fold(s) and "nikzad" in fold(s) and "نیک زاد" in fold(s)
    assert normalize("  «Henrik  Vallo»، ") == "henrik vallo"


def test_registry_yaml_and_csv_and_errors(ws, tmp_path):
    ws.import_sources(write(tmp_path / "s.yaml", "actors: [{id: kavaran-state, name: Kavaran}]\nsources: []\n"))
    counts = ws.import_entities(write(tmp_path / "e.yaml", REGISTRY))
    assert counts == {"entities": 3, "aliases": 7}
    again = ws.import_entities(write(tmp_path / "e.yaml", REGISTRY))
    assert again["aliases"] == 0  # idempotent
    rows = {e.key: e for e in ws.entities()}
    assert rows["bahram-nikzad"].actor == "kavaran-state"
    assert "هنریک والو" in rows["henrik-vallo"].aliases
    csv = write(tmp_path / "e.csv", "id,name,kind,aliases,language\nmira-castell,Mira Castell,person,Castell;M. Castell,en\n")
    assert ws.import_entities(csv)["entities"] == 1
    with pytest.raises(EntityError, match="e2.yaml entity #1.*kind 'robot'"):
        ws.import_entities(write(tmp_path / "e2.yaml", "entities: [{id: x, kind: robot}]"))
    with pytest.raises(EntityError, match="unknown actor 'nobody'.*sources import"):
        ws.import_entities(write(tmp_path / "e3.yaml", "entities: [{id: x, actor: nobody}]"))
    with pytest.raises(EntityError, match="needs an 'id' column"):
        load_entities(write(tmp_path / "bad.csv", "name\nX\n"))


def test_gazetteer_spans_link_and_ambiguity(ws, tmp_path):
    ws.import_sources(write(tmp_path / "s.yaml", "actors: [{id: kavaran-state, name: Kavaran}]\nsources: []\n"))
    ws.import_entities(write(tmp_path / "e.yaml", REGISTRY))
    with ws.sessions() as s:
        g = Gazetteer.load(s)
    text = "Former AMBASSADOR VALLO met Henrik Vallo's aides; بهرام نيكزاد (Arabic letters) and نیک‌زاد spoke."
    hits = g.find(text)
    found = [text[m.start:m.end] for m in hits]
    assert found == ["AMBASSADOR VALLO", "Henrik Vallo", "بهرام نيكزاد", "نیک‌زاد"]
    assert len({m.entity_id for m in hits}) == 2
    assert g.link("Former Ambassador Henrik Vallo") == g.link("هنریک والو") is not None
    assert g.link("Henrik Vallo and Bahram Nikzad") is None  # two entities in one name: no guess
    assert g.link("Henrik Vallon") is None  # word boundaries
    assert g.link("the envoy who served in Dastgerd") is None  # places are not speakers
    assert g.find("") == [] and Gazetteer({}).find("anything") == []


T0 = datetime(2026, 3, 8, 10, 0)


def qrow(doc, source, minutes, key="entity:henrik-vallo", *, source_actor=None, speaker_actor=None, lang="en",
         name="Henrik Vallo"):
    return {"speaker_key": key, "speaker_name": name, "entity": key.split(":", 1)[1] if key else None,
            "entity_name": name, "speaker_actor": speaker_actor, "document_id": doc, "source": source,
            "source_actor": source_actor, "published_at": None if minutes is None else T0 + timedelta(minutes=minutes),
            "language": lang, "title": f"doc {doc}", "resolution": "named"}


def test_speakers_count_outlets_first_use_and_own_outlets():
    rows = [qrow(1, "kt", 30, source_actor="state"), qrow(2, "meridian", 5), qrow(3, "meridian", 40),
            qrow(4, "gpw", None), qrow(5, "edispatch", 10),
            qrow(6, "kna", 0, "entity:nikzad", source_actor="state", speaker_actor="state", name="Bahram Nikzad"),
            qrow(7, "ktv", 1, "entity:nikzad", source_actor="state", speaker_actor="state", name="Bahram Nikzad"),
            qrow(8, None, 2, None)]
    out = speakers(rows)
    vallo, nikzad = out
    assert vallo.key == "entity:henrik-vallo" and vallo.outlets == 4 and vallo.other_outlets == 4
    assert vallo.first_source == "meridian" and vallo.first_document == 2  # the undated gpw page is never first
    assert [u.source for u in vallo.by_outlet] == ["meridian", "edispatch", "kt", "gpw"]
    assert nikzad.outlets == 2 and nikzad.other_outlets == 0  # officials on their own state's outlets
    assert [s.key for s in speakers(rows, min_outlets=3)] == ["entity:henrik-vallo"]


def unit(v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_quote_trails_order_by_time_across_languages():
    rows = [{"quote_id": i, "document_id": d, "source": s, "published_at": T0 + timedelta(minutes=m), "language": lang,
             "speaker": "Henrik Vallo", "text": t}
            for i, (d, s, m, lang, t) in enumerate([
                (1, "kt", 20, "en", "The protests are a foreign-made illusion."),
                (2, "meridian", 5, "en", "The protests are a foreign-made illusion."),
                (3, "kna", 90, "fa", "اعتراض‌ها توهمی ساخته خارج است."),
                (4, "herald", 30, "en", "Something else entirely, about the weather.")])]
    vecs = unit([[1, 0, 0], [1, 0.01, 0], [0.95, 0.2, 0], [0, 0, 1]])
    trails = quote_trails(rows, vecs, threshold=0.99, across=0.95)
    assert len(trails) == 1
    t = trails[0]
    assert (t.first.source, t.first.document_id) == ("meridian", 2)
    assert [c.source for c in t.repeats] == ["kt", "kna"] and t.languages == ["en", "fa"]
    assert t.documents == 3 and t.outlets == 3
    strict = quote_trails(rows, vecs, threshold=0.999, across=0.999)  # the Persian rendering is further away
    assert [(t.first.source, [c.source for c in t.repeats], t.languages) for t in strict] == [("meridian", ["kt"], ["en"])]


def test_quote_trails_do_not_chain_through_similar_quotes():
    """a≈b and b≈c but a≉c: c must not join a's trail through b (single linkage would)."""
    rows = [{"quote_id": i, "document_id": i, "source": f"s{i}", "published_at": T0 + timedelta(minutes=i),
             "language": "en", "speaker": "X", "text": f"quote {i}"} for i in range(3)]
    a = np.array([1.0, 0, 0])
    b = np.array([np.cos(0.3), np.sin(0.3), 0])
    c = np.array([np.cos(0.6), np.sin(0.6), 0])
    trails = quote_trails(rows, unit([a, b, c]), threshold=0.95)  # cos(a,b)=cos(b,c)=0.955, cos(a,c)=0.825
    assert [(t.first.document_id, [r.document_id for r in t.repeats]) for t in trails] == [(0, [1])]


@pytest.mark.integration  # builds an HNSW index over 20,400 vectors (4 s on 2 idle cores, 11 s under load)
def test_neighbour_pairs_exact_and_hnsw_agree():
    from narratrace.detect.provenance import neighbour_pairs

    rng = np.random.default_rng(1)
    base = unit(rng.standard_normal((200, 16)))
    vecs = np.vstack([base, unit(base + 0.01 * rng.standard_normal(base.shape))])  # each row has one twin
    exact = {(i, j) for i, j, _ in neighbour_pairs(vecs, 0.98)}
    assert {(i, i + 200) for i in range(200)} <= exact
    big = np.vstack([vecs] + [unit(rng.standard_normal((20_000, 16)))])  # past the exact-search size
    approx = {(i, j) for i, j, _ in neighbour_pairs(big, 0.98) if j < 400}
    assert len(approx & {(i, i + 200) for i in range(200)}) >= 190


def test_narrative_spread_orders_outlets_by_first_carriage():
    rows = [{"source": s, "audience": a, "language": "en", "published_at": None if m is None else T0 + timedelta(minutes=m),
             "document_id": d, "sentence_id": d * 10, "text": f"statement {d}"}
            for d, s, a, m in [(1, "kt", "foreign", 30), (2, "kna", "domestic", 10), (3, "kt", "foreign", 5),
                               (4, "herald", "foreign", None)]]
    steps = narrative_spread(rows)
    # an outlet with only undated statements is a carrier too: after the dated ones, not placed in time
    assert [(s.source, s.document_id, s.documents, s.undated) for s in steps] == [
        ("kt", 3, 2, 0), ("kna", 2, 1, 0), ("herald", 4, 1, 1)]
    assert steps[-1].first is None


def test_citation_graph_round_trips_through_gexf_and_graphml(tmp_path):
    rows = [qrow(1, "kt", 30), qrow(2, "meridian", 5), qrow(3, "meridian", 40), qrow(4, "gpw", None)]
    meta = {"kt": {"name": "Kavaran Today", "actor": "state", "audience": "foreign"}}
    g = citation_graph(rows, meta)
    assert g.edges["speaker:entity:henrik-vallo", "outlet:meridian"]["weight"] == 2
    assert g.edges["speaker:entity:henrik-vallo", "outlet:meridian"]["first"] == (T0 + timedelta(minutes=5)).isoformat()
    assert g.nodes["outlet:kt"]["label"] == "Kavaran Today"
    for fmt, writer, reader in (("gexf", nx.write_gexf, nx.read_gexf), ("graphml", nx.write_graphml, nx.read_graphml)):
        writer(g, tmp_path / f"g.{fmt}")
        back = reader(tmp_path / f"g.{fmt}")
        assert set(back.nodes) == set(g.nodes) and set(back.edges) == set(g.edges)
        assert {e: int(d["weight"]) for e, d in back.edges.items()} == {e: d["weight"] for e, d in g.edges.items()}
    full = citation_graph(rows, meta, documents=True)
    assert full.has_edge("speaker:entity:henrik-vallo", "doc:2") and full.has_edge("doc:2", "outlet:meridian")


# -- end to end: a small fictional corpus through the Workspace and the CLI -----------------------

STORY = ["Former Norland ambassador Henrik Vallo said on Monday that the protests in Kavaran were "
         "\"a foreign-made illusion staged for the cameras\".",
         "\"Nobody in Dastgerd is following the Front; it lives in hotel conference rooms abroad,\" he told reporters.",
         "According to Vallo, the unrest will pass within weeks and trade with Norland will recover.",
         "Officials in Dastgerd said the situation in Sorkhabad was calm."]
SOURCES = """
actors: [{id: kavaran-state, name: Government of Kavaran}]
sources:
- {id: kt, name: Kavaran Today, actor: kavaran-state, audience: foreign, domains: [kt.example]}
- {id: meridian, name: Meridian Observer, audience: foreign, domains: [meridian.example]}
- {id: gpw, name: Global Perspective Wire, audience: foreign, domains: [gpw.example]}
- {id: kna, name: Kavaran News Agency, actor: kavaran-state, audience: domestic, domains: [kna.example]}
"""
ENTITIES = """
entities:
- {id: henrik-vallo, name: Henrik Vallo, aliases: {en: [Vallo], fa: [هنریک والو]}}
- {id: shirin-afkham, name: Shirin Afkham, actor: kavaran-state, aliases: {fa: [شیرین افخم]}}
- {id: dastgerd, name: Dastgerd, kind: place}
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    for i, (outlet, minute) in enumerate([("kt", "00"), ("meridian", "06"), ("gpw", "13")]):
        paras = STORY if i == 0 else [p.replace("on Monday", "on Monday morning") for p in STORY]
        write(d / "in" / f"{outlet}.html", article_html(f"Envoy: Kavaran protests an illusion ({outlet})", paras,
                                                        url=f"https://{outlet}.example/a/{i}",
                                                        published=f"2026-03-08T10:{minute}:00Z"))
    write(d / "in" / "kna.html", article_html(
        "افخم: جبهه در داخل حامی ندارد",
        ["شیرین افخم، وزیر امور خارجه، گفت: «جبهه راه آزادی در داخل کاوران هیچ پایگاهی ندارد.»",
         "به گفته شیرین افخم، دولت با معترضان گفت‌وگو خواهد کرد.",
         "یک منبع آگاه گفت: «این نقل قول بسته نمی‌شود و تا آخر سند ادامه دارد",
         "Mixed line: he said «متن فارسی» and left. متن ‏RTL‎ with \u202eoverride\u202c marks."],
        url="https://kna.example/fa/1", lang="fa"))  # undated: it takes part in counts, never in "first"
    write(d / "sources.yaml", SOURCES)
    write(d / "entities.yaml", ENTITIES)
    return d


@pytest.fixture(scope="module")
def cws(corpus, tmp_path_factory):
    from narratrace.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("ws") / "c.db", create=True)
    ws.import_sources(corpus / "sources.yaml")
    ws.import_entities(corpus / "entities.yaml")
    ws.ingest([str(corpus / "in")])
    yield ws
    ws.close()


def test_quotes_speakers_and_recycled_sources_end_to_end(cws):
    counts = cws.analyze(["quotes"])["quotes"]
    assert counts["documents"] == 4 and counts["quotes"] >= 10
    assert cws.analyze(["quotes"])["quotes"]["documents"] == 0  # incremental: nothing new to do
    vallo = cws.quotes(speaker="henrik-vallo")
    texts = " | ".join(q.text for q in vallo)
    assert "a foreign-made illusion staged for the cameras" in texts and "hotel conference rooms" in texts
    assert {q.source for q in vallo} == {"kt", "meridian", "gpw"}
    he = [q for q in vallo if q.speaker_as_written == "he"]
    assert he and all(q.resolution == "pronoun" for q in he)  # "he told reporters" → Henrik Vallo
    for q in cws.quotes():
        doc = cws.document(q.document_id)
        assert doc.text[q.start:q.end] == q.text  # every quote is an exact span of the stored text
    fa = cws.quotes(speaker="shirin-afkham")
    assert any("هیچ پایگاهی ندارد" in q.text for q in fa) and {q.language for q in fa} == {"fa"}
    unbalanced = [q for q in cws.quotes(source="kna") if "ادامه دارد" in q.text]
    assert all("Mixed line" not in q.text for q in unbalanced)  # an unclosed « stops at its paragraph
    assert all(q.reason for q in cws.quotes(attributed=False))  # unattributed quotes say why
    assert not [q for q in cws.quotes() if q.speaker == "Dastgerd"]  # a place is never the speaker
    sp = {s.entity: s for s in cws.speakers()}
    v = sp["henrik-vallo"]
    assert v.outlets == 3 and v.other_outlets == 3 and v.first_source == "kt" and v.named
    assert sp["shirin-afkham"].first_seen is None  # only an undated page quotes her: never "first"
    assert [s.entity for s in cws.recycled_sources(3)] == ["henrik-vallo"]
    assert cws.recycled_sources(4) == []
    assert {e.key: e.quotes for e in cws.entities()}["henrik-vallo"] == len(vallo)


def test_coordination_groups_and_graph_exports(cws, tmp_path):
    import networkx as nx

    found = cws.analyze(["coordination"], options={"coordination": {"translations": False}})["coordination"]
    assert found["near_duplicate"] == 1 and found["undated"] == 1
    (g,) = cws.coordination()
    assert g.sources == ["gpw", "kt", "meridian"] and g.first_source == "kt" and g.span_seconds == 13 * 60
    assert [d.source for d in g.documents] == ["kt", "meridian", "gpw"]
    found = cws.analyze(["coordination"], options={"coordination": {"window": 420, "translations": False}})
    assert found["coordination"]["near_duplicate"] == 1  # gpw (13 min) falls out at 7
    assert cws.coordination()[0].sources == ["kt", "meridian"]
    cws.analyze(["coordination"], options={"coordination": {"translations": False}})["coordination"]
    nodes, edges = cws.export_graph("coordination", "gexf", str(tmp_path / "o.gexf"))
    assert (nodes, edges) == (3, 3)
    back = nx.read_gexf(tmp_path / "o.gexf")
    assert int(back.nodes["kt"]["n_first"]) == 1
    names = {s.key: s.name for s in cws.sources()}
    assert back.nodes["kt"]["label"] == names["kt"] != "kt"  # outlet names as labels, keys as ids
    # who published first and who followed, timed for Gephi's timeline
    nodes, edges = cws.export_graph("coordination-spread", "gexf", str(tmp_path / "s.gexf"))
    assert (nodes, edges) == (3, 2)
    raw = (tmp_path / "s.gexf").read_text()
    assert 'mode="dynamic"' in raw and 'timeformat="date"' in raw and 'defaultedgetype="directed"' in raw
    spread = nx.read_gexf(tmp_path / "s.gexf")
    assert set(spread.edges) == {("kt", "meridian"), ("kt", "gpw")}
    follow = {d.source: d.published_at for d in g.documents}
    assert spread.edges["kt", "gpw"]["start"] == follow["gpw"].isoformat()
    assert float(spread.edges["kt", "gpw"]["lag_seconds"]) == 13 * 60
    assert spread.nodes["kt"]["start"] == follow["kt"].isoformat() and spread.nodes["gpw"]["label"] == names["gpw"]
    cws.export_graph("citation", "graphml", str(tmp_path / "c.graphml"))
    cit = nx.read_graphml(tmp_path / "c.graphml")
    assert int(cit.edges["speaker:entity:henrik-vallo", "outlet:meridian"]["weight"]) == 1
    cws.export_graph("citation-documents", "csv", str(tmp_path / "c.csv"))
    assert "quoted_in" in (tmp_path / "c.csv").read_text() and "published_by" in (tmp_path / "c.csv").read_text()


def test_provenance_cli_json(cws, tmp_path):
    import json

    from typer.testing import CliRunner

    from narratrace.cli.main import app

    run = CliRunner().invoke
    w = ["--workspace", cws.path]
    res = run(app, ["quotes", "--speaker", "henrik-vallo", "--json", *w])
    assert res.exit_code == 0, res.output
    quotes = json.loads(res.stdout)
    assert quotes and all(q["speaker"] == "Henrik Vallo" and q["text"] for q in quotes)
    res = run(app, ["speakers", "--min-outlets", "3", "--json", *w])
    assert [s["entity"] for s in json.loads(res.stdout)] == ["henrik-vallo"]
    res = run(app, ["coordination", "--no-translations", "--json", *w])
    assert res.exit_code == 0, res.output
    groups = json.loads(res.stdout)["groups"]
    assert [[d["source"] for d in g["documents"]] for g in groups] == [["kt", "meridian", "gpw"]]
    res = run(app, ["coordination", "--window", "soon", *w])
    assert res.exit_code != 0 and "--window 'soon'" in res.output
    res = run(app, ["export", "--format", "graphml", "--graph", "citation", "--output", str(tmp_path / "g.graphml"), *w])
    assert res.exit_code == 0 and (tmp_path / "g.graphml").exists(), res.output
    res = run(app, ["export", "--format", "gexf", "--graph", "nonsense", "--output", str(tmp_path / "x"), *w])
    assert res.exit_code != 0 and "unknown graph 'nonsense'" in res.output
    res = run(app, ["export", "--records", "quotes", "--format", "jsonl", "--output", str(tmp_path / "q.jsonl"), *w])
    assert res.exit_code == 0 and len((tmp_path / "q.jsonl").read_text().splitlines()) == len(cws.quotes())
    res = run(app, ["entities", "list", "--json", *w])
    assert {e["key"] for e in json.loads(res.stdout)} == {"henrik-vallo", "shirin-afkham", "dastgerd"}
    res = run(app, ["entities", "import", str(tmp_path / "missing.yaml"), *w])
    assert res.exit_code != 0 and "missing.yaml: cannot read" in res.output


@pytest.mark.integration  # spaCy over a 1.2 MB document (11 s on 2 idle cores)
def test_a_document_longer_than_spacy_accepts_is_parsed_in_pieces():
    """spaCy refuses texts over 1,000,000 characters (and needs ~1 GB per 100k): a hostile 1.2 MB
    document is cut at line breaks, and every quote's span still points into the whole text."""
    from narratrace.enrich.quotes import PARSE_CHARS, extract_quotes

    line = 'Minister Afkham said "the port of Bandar Nilufar is closed" on Monday.\n'
    text = line * (1_200_000 // len(line))
    found = extract_quotes(text, "en")
    assert len(found) == text.count("\n") and len(text) > 1_000_000 > PARSE_CHARS
    assert {text[q.start:q.end] for q in found} == {"the port of Bandar Nilufar is closed"}
    assert {text[q.speaker_start:q.speaker_end] for q in found} == {"Minister Afkham"}
