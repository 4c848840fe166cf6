"""The claim-matching gate: on CLEF 2020 CheckThat! task 2 (dev split), dense and hybrid
retrieval must stay above the floors in quality/floors.toml, and the hybrid must beat BM25 (the
task's published baseline). Plus exact unit tests of the metric and of BM25."""

import math
import tomllib

import pytest
from conftest import REPO, shared_path

from narratrace.evaluation.claims import BM25, DEFAULT_CACHE, average_precision_at_k, evaluate, map_at_k, recall_at_k, tokenize

FLOORS = tomllib.loads((REPO / "quality" / "floors.toml").read_text()).get("claims", {})


# ---------------------------------------------------------------- metric, by hand


def test_average_precision_at_5_by_hand():
    # one relevant item: 1 / rank if it is in the top 5, else 0
    assert average_precision_at_k(["a", "b", "c"], {"a"}) == 1.0
    assert average_precision_at_k(["x", "a", "c"], {"a"}) == 0.5
    assert average_precision_at_k(["v", "w", "x", "y", "a"], {"a"}) == pytest.approx(0.2)
    assert average_precision_at_k(["v", "w", "x", "y", "z", "a"], {"a"}) == 0.0
    # two relevant at ranks 1 and 3: (1/1 + 2/3) / 2 = 5/6
    assert average_precision_at_k(["a", "x", "b", "y"], {"a", "b"}) == pytest.approx(5 / 6)
    # two relevant, one found at rank 2: (1/2) / 2 = 1/4 (divided by all relevant, as trectools does)
    assert average_precision_at_k(["x", "a", "y", "z", "w", "b"], {"a", "b"}) == pytest.approx(0.25)
    # the cut-off matters: relevant at rank 3 counts for @5 and @3, not for @1
    assert average_precision_at_k(["x", "y", "a"], {"a"}, k=1) == 0.0
    assert average_precision_at_k(["x", "y", "a"], {"a"}, k=3) == pytest.approx(1 / 3)
    assert average_precision_at_k(["a"], set()) == 0.0


def test_map_at_5_averages_over_all_qrels_queries():
    qrels = {"q1": {"a"}, "q2": {"b", "c"}, "q3": {"d"}}
    rankings = {"q1": ["x", "a"],            # 1/2
                "q2": ["b", "c", "x"]}       # (1 + 1) / 2 = 1;  q3 missing -> 0
    assert map_at_k(rankings, qrels, 5) == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert map_at_k(rankings, qrels, 1) == pytest.approx((0.0 + 0.5 + 0.0) / 3)
    assert recall_at_k(rankings, qrels, 5) == pytest.approx((1 + 1 + 0) / 3)
    assert recall_at_k(rankings, qrels, 1) == pytest.approx((0 + 0.5 + 0) / 3)


# ---------------------------------------------------------------- BM25, by hand


def test_bm25_toy_corpus():
    docs = ["The glorp festival of Vandermoor draws zeppelin racers",
            "Vandermoor mayor bans zeppelin parking",
            "Quillfish migrate upriver every spring in Ostravel"]
    bm = BM25(docs, k1=1.2, b=0.75)
    assert tokenize("Glorp, FESTIVAL!") == ["glorp", "festival"]
    s = bm.scores("quillfish")
    assert s.argmax() == 2 and s[0] == s[1] == 0.0
    # exact value: n=3, df=1 -> idf = ln(1 + 2.5/1.5); doc 2 has 7 words, avgdl = (8 + 5 + 7) / 3
    avgdl = 20 / 3
    idf = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))
    expected = idf * 1 * 2.2 / (1 + 1.2 * (1 - 0.75 + 0.75 * 7 / avgdl))
    assert s[2] == pytest.approx(expected)
    # a term in two docs weighs less than a rare one; shorter doc wins on an equal tf
    z = bm.scores("zeppelin")
    assert z[1] > z[0] > 0 and z[2] == 0
    assert bm.scores("glorp zeppelin").argmax() == 0
    assert bm.scores("nothing matches").sum() == 0


# ---------------------------------------------------------------- the gate on published data


@pytest.fixture(scope="module")
def dev_result():
    eval_dir = shared_path("eval")
    shared_path("eval", "claims-en")
    # claim vectors are cached outside the repo (system temp dir, keyed by model and texts), so
    # only the first run pays the ~3-10 min of embedding 10,375 claims
    result = evaluate("dev", eval_dir, cache_dir=DEFAULT_CACHE)
    print(f"\nclaims dev: {result}")
    return result


@pytest.mark.integration  # quality gate over ../shared: embeds 10,375 claims (3-10 min uncached)
def test_claims_dev_floors(dev_result):
    assert dev_result["queries"] == 197 and dev_result["claims"] == 10375
    assert FLOORS, "quality/floors.toml has no [claims] table"
    for key, floor in FLOORS.items():
        ranker = key.split("_")[0]
        got = dev_result[ranker]["map5"]
        assert got >= floor, f"{ranker} dev MAP@5 {got:.4f} fell below the floor {floor}"


@pytest.mark.integration  # quality gate over ../shared: embeds 10,375 claims (3-10 min uncached)
def test_hybrid_beats_bm25_on_dev(dev_result):
    assert dev_result["hybrid"]["map5"] > dev_result["bm25"]["map5"]
