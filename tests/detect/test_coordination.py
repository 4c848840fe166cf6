"""Coordinated publication: near-duplicate groups, translations, the outlet network and CooRTweet's
co-sharing network — small cases with known answers, plus the CooRTweet example-data gate."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from conftest import shared_path

from narratrace.detect.coordination import (
    Item,
    coordinated_subgraph,
    coortweet_network,
    coortweet_pairs,
    estimate_window,
    near_duplicate_groups,
    outlet_network,
    sentence_vectors,
    translation_groups,
)
from narratrace.report.graphs import write_graph

T0 = 1_780_000_000.0
STORY = ("The harbour council of Velmora announced on Monday that the northern grain terminal will close "
         "for three weeks of repairs. Ships bound for the terminal are asked to wait at the outer anchorage. "
         "A spokesman for the council said the closure was planned last winter and has nothing to do with "
         "the recent dispute over loading fees. Traders in the old market expect bread prices to stay calm.")
OTHER = ("A travelling circus from the hill town of Orsk arrived in the capital with twelve painted wagons "
         "and a brass band. Children lined the avenue to watch the acrobats unload their tents, and the "
         "mayor promised a free evening performance for every school in the eastern district next week.")


def edit(text: str) -> str:
    return text.replace("Monday", "Tuesday").replace("old market", "covered market")


def test_burst_of_three_and_late_copy_excluded():
    items = [Item(1, "outlet-a", T0 + 120, STORY), Item(2, "outlet-b", T0, edit(STORY)),
             Item(3, "outlet-c", T0 + 290, STORY + " More follows."), Item(4, "outlet-d", T0 + 3 * 86400, STORY),
             Item(5, "outlet-e", T0 + 60, OTHER)]
    res = near_duplicate_groups(items, window=600)
    assert len(res) == 1
    g = res.groups[0]
    assert [m.doc_id for m in g.documents] == [2, 1, 3]
    assert (g.first_doc_id, g.first_source) == (2, "outlet-b")
    assert g.method == "near-duplicate" and g.span_seconds == 290
    assert g.documents[0].similarity == 1.0 and all(0.5 <= m.similarity <= 1 for m in g.documents)
    assert set(g.sources) == {"outlet-a", "outlet-b", "outlet-c"}
    # with a window of four days the late copy joins
    assert [m.doc_id for m in near_duplicate_groups(items, window=4 * 86400).groups[0].documents] == [2, 1, 3, 4]


def test_same_outlet_twice_is_not_a_group_and_undated_reported():
    items = [Item(1, "outlet-a", T0, STORY), Item(2, "outlet-a", T0 + 60, edit(STORY)),
             Item(3, "outlet-b", None, STORY), Item(4, "outlet-c", T0 + 30, "too short")]
    res = near_duplicate_groups(items)
    assert res.groups == []
    assert res.undated == [3]
    assert res.skipped == [4]


def test_precomputed_signature_and_first_publisher_tie():
    from narratrace.ingest.dedup import signature

    items = [Item(9, "outlet-b", T0, None, signature(STORY)), Item(7, "outlet-a", T0, STORY)]
    g = near_duplicate_groups(items).groups[0]
    assert g.first_doc_id == 7  # same second: the lower doc_id is first


def test_estimate_window_constructed():
    # 10 objects whose second share comes after 5 s, 90 after 600 s → the quickest 10 % are the
    # 5-s objects; each has 4 shares at 0, 5, 20, 40 s: more than half are out at the 3rd share (20 s)
    quick = [[0, 5, 20, 40]] * 10
    slow = [[0, 600, 1200, 5000]] * 90
    assert estimate_window(quick + slow) == 20.0
    # flat form with object ids gives the same
    t = np.concatenate([np.array(s, float) for s in quick + slow])
    g = np.repeat(np.arange(100), 4)
    assert estimate_window(t, g) == 20.0
    # CooRnet turns 0 s into 1 s
    assert estimate_window([[0, 0, 0]] * 3) == 1.0
    with pytest.raises(ValueError):
        estimate_window([[0], [5]])


EN = ("The parliament of the Republic of Kavaran approved a new water law on Sunday. Under the law, every "
      "village in the southern provinces will receive a public well within two years. The minister of "
      "agriculture said the plan would be paid for from the sale of state bonds.")
FA = ("مجلس جمهوری کاوران روز یکشنبه قانون جدید آب را تصویب کرد. بر اساس این قانون، هر روستا در استان‌های "
      "جنوبی ظرف دو سال یک چاه عمومی دریافت خواهد کرد. وزیر کشاورزی گفت هزینه این طرح از فروش اوراق "
      "قرضه دولتی تأمین می‌شود.")
EN_OTHER = [("The football club of the Kavaran capital won the national cup after a penalty shoot-out. "
             "Thousands of supporters celebrated in the central square until midnight."),
            ("A new railway line between two northern cities of Kavaran opened for passengers this week. "
             "The journey now takes three hours instead of seven."),
            ("The national library of Kavaran reopened its reading room after ten years of restoration. "
             "Visitors can now see the old manuscripts under glass.")]
FA_OTHER = [("نمایشگاه فرش دستباف در پایتخت کاوران با حضور صدها بافنده از سراسر کشور گشایش یافت. "
             "این نمایشگاه تا پایان هفته ادامه دارد."),
            ("بارش برف سنگین در کوهستان‌های شمالی کاوران جاده‌ها را مسدود کرد. "
             "تیم‌های امداد برای باز کردن مسیرها اعزام شدند."),
            ("دانشگاه دستگرد برنامه تازه‌ای برای پذیرش دانشجویان خارجی اعلام کرد. "
             "ثبت‌نام از ماه آینده آغاز می‌شود.")]


def test_translation_pair_with_real_embedder():
    texts = [FA, EN, *EN_OTHER, *FA_OTHER]
    langs = ["fa", "en", "en", "en", "en", "fa", "fa", "fa"]
    items = [Item(1, "kavaran-news", T0, FA), Item(2, "kavaran-today", T0 + 5 * 3600, EN)]
    items += [Item(10 + k, f"outlet-{k}", T0 + 3600 * k, t) for k, t in enumerate(texts[2:])]
    vecs = sentence_vectors(texts)
    res = translation_groups(items, vecs, langs)
    assert [[m.doc_id for m in g.documents] for g in res] == [[1, 2]]
    g = res.groups[0]
    assert g.first_source == "kavaran-news" and g.documents[1].language == "en"
    assert g.documents[1].similarity >= 1.04
    # outside the window: no group; same outlet: no group
    items[1].published_at = T0 + 5 * 86400
    assert len(translation_groups(items, vecs, langs)) == 0
    items[1].published_at, items[1].source = T0 + 3600, "kavaran-news"
    assert len(translation_groups(items, vecs, langs)) == 0


def _groups():
    items = [Item(1, "a", T0, STORY), Item(2, "b", T0 + 60, STORY), Item(3, "c", T0 + 120, STORY),
             Item(4, "a", T0 + 86400, OTHER), Item(5, "b", T0 + 86400 + 30, OTHER)]
    return near_duplicate_groups(items).groups


def test_outlet_network_and_export_round_trip(tmp_path):
    G = outlet_network(_groups())
    assert dict(G.nodes(data="n_groups")) == {"a": 2, "b": 2, "c": 1}
    assert dict(G.nodes(data="n_first")) == {"a": 2, "b": 0, "c": 0}
    assert G["a"]["b"]["weight"] == 2 and G["a"]["c"]["weight"] == 1
    assert G["b"]["c"]["weight_norm"] == 1.0 and G["a"]["b"]["weight_norm"] == 1.0
    for fmt, reader in (("gexf", nx.read_gexf), ("graphml", nx.read_graphml)):
        path = tmp_path / f"g.{fmt}"
        assert write_graph(G, fmt, path) == (3, 3)
        H = reader(path)
        assert set(H.nodes) == set(G.nodes)
        assert {frozenset(e) for e in H.edges} == {frozenset(e) for e in G.edges}
        for a, b, d in G.edges(data=True):
            assert float(H[a][b]["weight"]) == d["weight"]
            assert float(H[a][b]["weight_norm"]) == pytest.approx(d["weight_norm"])
        assert int(H.nodes["a"]["n_first"]) == 2
    write_graph(G, "csv", tmp_path / "edges.csv")
    rows = pd.read_csv(tmp_path / "edges.csv")
    assert len(rows) == 3 and {"source", "target", "weight", "weight_norm"} <= set(rows.columns)
    with pytest.raises(ValueError, match="unknown graph format 'dot'"):
        write_graph(G, "dot", tmp_path / "g.x")
    with pytest.raises(ValueError, match="give --output FILE"):
        write_graph(G, "gexf", "-")


def test_coortweet_tiny_known_answer():
    # object o1: A at 0, B at 5, C at 30 → pair A-B only (10 s window); object o2: A 100, B 104;
    # object o3: A 200, C 203; D shares once only (dropped by min_participation); loops: A twice on o4
    shares = pd.DataFrame({
        "object_id": ["o1", "o1", "o1", "o2", "o2", "o3", "o3", "o1", "o4", "o4"],
        "account_id": ["A", "B", "C", "A", "B", "A", "C", "D", "A", "A"],
        "content_id": [f"c{i}" for i in range(10)],
        "timestamp": [0, 5, 30, 100, 104, 200, 203, 2, 300, 301]})
    pairs = coortweet_pairs(shares, 10, 2)
    got = sorted(zip(pairs.object_id, pairs.account_id, pairs.account_id_y, pairs.time_delta))
    assert got == [("o1", "A", "B", 5.0), ("o2", "A", "B", 4.0), ("o3", "A", "C", 3.0)]
    G = coortweet_network(shares, 10, 2, 0.5)
    assert G["A"]["B"]["weight"] == 2 and G["A"]["C"]["weight"] == 1
    assert G["A"]["B"]["avg_time_delta"] == 4.5 and G["A"]["B"]["edge_symmetry_score"] == 1.0
    # median of (1, 2) is 1.5; A-B (2) is over it, A-C (1) is not
    assert G.graph["weight_threshold_value"] == 1.5
    assert set(coordinated_subgraph(G).edges) == {("A", "B")}


@pytest.mark.integration  # quality gate over ../shared: CooRTweet's 35,125 example tweets, brute-force pairs
def test_coortweet_example_data_gate():
    from narratrace.evaluation.coordination import PUBLISHED, brute_force_pairs, check_sample, load_russian, run_case

    shared_path("eval", "coordination", "russian_coord_tweets.rda")
    pytest.importorskip("pyreadr")
    ru = load_russian(shared_path("eval"))
    assert len(ru) == 35125
    # the vignette's published figure: 600 s, min_participation 2, edge_weight 0.99 → min weight 3
    pub = PUBLISHED["russian_coord_tweets"]
    case = run_case(ru, **pub["params"])
    assert case["min_weight_over_threshold"] == pub["min_weight_over_threshold"]
    assert case["sample_failures"] == 0
    # defaults (10 s, 2, 0.5): our figures, recorded in bench/RESULTS.md
    d = run_case(ru, 10, 2, 0.5)
    assert (d["pairs"], d["network"]["accounts"], d["network"]["edges"]) == (447, 525, 442)
    # sliding window == all pairs per object, before the participation filters
    raw = coortweet_pairs(ru, 10, 0)
    ours = {(o, frozenset((a, b))) for o, a, b in zip(raw.object_id, raw.content_id, raw.content_id_y)}
    assert len(ours) == len(raw)  # no pair twice
    assert ours == brute_force_pairs(ru, 10)
    assert (raw.time_delta <= 10).all() and (raw.account_id != raw.account_id_y).all()
    assert check_sample(ru, raw, 10, n=300) == 0
