"""Entities and aliases, speakers and recycled sources, quote trails, narrative spread, the citation
graph: unit tests on the pure functions, then the Workspace end to end on a small fictional corpus."""

from datetime import datetime, timedelta

import networkx as nx
import numpy as np
import pytest
from conftest import write

from narratrace.detect.provenance import citation_graph, narrative_spread, quote_trails, speakers
from narratrace.enrich.entities import EntityError, Gazetteer, apply_entities, fold, load_entities, normalize

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
    assert [(s.source, s.document_id, s.documents) for s in steps] == [("kt", 3, 2), ("kna", 2, 1)]


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
