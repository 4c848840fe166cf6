"""The campaign-dev scorer on hand-built records (each test can fail), plus one small real build."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from narratrace.evaluation import campaign as c

EVAL_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "eval"


def sent(doc, start, end, narrative, stance="asserts", holder="outlet", language="en"):
    return c.Gold("sentence", f"f{doc}", "x", narrative=narrative, stance=stance, holder=holder,
                  span=(doc, start, end), language=language)


def match(doc, start, end, narrative, stance="asserts", **holder):
    return NS(document_id=doc, start=start, end=end, narrative=narrative, stance=stance, sentence_id=0, **holder)


def pair(a, b, actor="kv-gov"):
    return NS(actor=actor, a_document_id=a[0], a_start=a[1], a_end=a[2], b_document_id=b[0], b_start=b[1],
              b_end=b[2], score=0.5, cross_audience=True)


# -- spans -------------------------------------------------------------------------------------


def test_locate_exact_normalised_and_whitespace():
    assert c.locate("Title\n\nHe said so. Then more.", "He said so.") == (7, 18)
    # the store maps Arabic yeh to Persian yeh and drops tatweel in Persian paragraphs
    stored = "گزارش\n\nگروهها در ایران گفتند"
    start, end = c.locate(stored, "گروهـــها در ايران", "fa")
    assert stored[start:end] == "گروهها در ایران"
    assert c.locate("one two\n\nthree", "two  three") is None  # never across paragraphs' text that is not there
    assert c.locate("a  b\tc", "a b c") == (0, 6)
    assert c.locate("abc", "zzz") is None


def test_covers_needs_half_the_shorter_span_in_the_same_document():
    assert c.covers((1, 0, 10), (1, 4, 20))  # 6 of the shorter 10
    assert not c.covers((1, 0, 10), (1, 6, 20))  # 4 of 10
    assert not c.covers((1, 0, 10), (2, 0, 10))
    assert not c.covers(None, (1, 0, 10))


def test_locate_gold_counts_what_it_cannot_find():
    gold = [c.Gold("sentence", "a", "He said so."), c.Gold("quote", "a", "not there"), c.Gold("sentence", "b", "x"),
            c.Gold("boilerplate", "a", "Read more")]
    res = c.locate_gold(gold, {"a": (7, "Title\n\nHe said so.")}, {"a": "en", "b": "en"})
    assert gold[0].span == (7, 7, 18) and gold[1].span is None
    assert res["unlocated"] == {"quote": 1, "sentence": 1} and res["unlocated_total"] == 2
    assert {e["why"] for e in res["examples"]} == {"document not stored", "not in the stored text"}


# -- matches -----------------------------------------------------------------------------------


def test_matches_recall_precision_and_a_wrong_narrative():
    gold = [sent(1, 0, 50, "riots"), sent(1, 60, 100, "illness", language="en"), sent(2, 0, 40, "none", language="fa")]
    langs = {1: "en", 2: "fa"}
    right = [match(1, 0, 52, "riots")]
    r = c.score_matches(right, gold, langs)
    assert r["overall"]["recall"] == 0.5 and r["overall"]["precision"] == 1.0
    assert r["by_narrative"]["riots"]["recall"] == 1.0 and r["by_narrative"]["illness"]["recall"] == 0.0
    assert r["none_matched"] == 0.0

    wrong = right + [match(1, 0, 52, "illness"), match(2, 0, 40, "riots"), match(3, 0, 40, "riots")]
    r = c.score_matches(wrong, gold, langs)
    # the match outside every gold span is not judged; the other two wrong ones are
    assert r["overall"]["judged"] == 3 and r["overall"]["precision"] == round(1 / 3, 4)
    assert r["overall"]["recall"] == 0.5  # a match to the wrong narrative finds nothing
    assert r["by_language"]["fa"]["precision"] == 0.0 and r["by_language"]["en"]["precision"] == 0.5
    assert r["none_matched"] == 1.0 and r["none_rows_matched"] == 1


def test_a_sentence_with_two_gold_narratives_accepts_either():
    gold = [sent(1, 0, 50, "illness"), sent(1, 0, 50, "killed", stance="denies")]
    r = c.score_matches([match(1, 0, 50, "killed", "denies")], gold, {1: "en"})
    assert r["overall"]["precision"] == 1.0 and r["overall"]["found"] == 1 and r["overall"]["gold"] == 2


def test_stance_per_class():
    gold = [sent(1, 0, 10, "a"), sent(1, 20, 30, "a", stance="denies"), sent(1, 40, 50, "a", stance="denies")]
    stored = [match(1, 0, 10, "a", "asserts"), match(1, 20, 30, "a", "asserts"), match(1, 40, 50, "a", "denies")]
    r = c.score_stance(stored, gold)
    assert r["n"] == 3 and r["accuracy"] == round(2 / 3, 4)
    assert r["classes"]["asserts"] == {"precision": 0.5, "recall": 1.0, "f1": round(2 / 3, 4), "support": 1}
    assert r["classes"]["denies"]["precision"] == 1.0 and r["classes"]["denies"]["recall"] == 0.5


def test_holder_collapsed_kind_and_entity():
    gold = [sent(1, 0, 10, "a", holder="outlet"), sent(1, 20, 30, "a", holder="speaker:ali-khamenei"),
            sent(1, 40, 50, "a", holder="reported:rights-groups")]
    stored = [match(1, 0, 10, "a", holder_kind="outlet", holder=None),
              match(1, 20, 30, "a", holder_kind="reported", holder="ali-khamenei"),
              match(1, 40, 50, "a", holder_kind="speaker", holder="amnesty")]
    r = c.score_holder(stored, gold)
    assert r["available"] and r["collapsed"]["accuracy"] == 1.0
    assert r["kind"]["accuracy"] == round(1 / 3, 4)
    assert r["entity"] == {"n": 2, "right": 1, "accuracy": 0.5}


def test_holder_not_stored_yet_is_said_not_guessed():
    r = c.score_holder([match(1, 0, 10, "a")], [sent(1, 0, 10, "a")])
    assert not r["available"] and r["with_holder"] == 0 and r["collapsed"]["accuracy"] == 0.0


# -- contradictions ----------------------------------------------------------------------------


def test_contradiction_rank_top20_and_precision():
    g = c.Gold("contradiction", "a", "x", holder="kv-gov", file2="b", span=(1, 0, 10), span2=(2, 0, 10))
    noise = [pair((3, 0, 10), (4, 0, 10)) for _ in range(20)]
    stored = noise + [pair((2, 0, 10), (1, 0, 10))]  # the gold pair, reversed, at rank 21
    r = c.score_contradictions(stored, [g])
    assert r["ranks"][0]["rank"] == 21 and r["found"] == 1 and r["found_top20"] == 0
    assert r["precision_top20"] == 0.0 and r["by_actor"]["kv-gov"]["stored"] == 21

    r = c.score_contradictions([pair((1, 0, 10), (2, 2, 10))] + noise, [g])
    assert r["ranks"][0]["rank"] == 1 and r["found_top20"] == 1 and r["precision_top20"] == 0.05
    assert r["precision_is_lower_bound"]


def test_contradiction_of_another_actor_or_one_side_only_is_not_found():
    g = c.Gold("contradiction", "a", "x", holder="kv-gov", file2="b", span=(1, 0, 10), span2=(2, 0, 10))
    r = c.score_contradictions([pair((1, 0, 10), (2, 0, 10), actor="other"), pair((1, 0, 10), (5, 0, 10))], [g])
    assert r["found"] == 0 and r["ranks"][0]["rank"] is None


# -- quotes, dates, boilerplate ----------------------------------------------------------------


def quote(doc, start, end, key=None, name=None):
    return NS(document_id=doc, start=start, end=end, speaker_key=key, speaker=name, speaker_as_written=name)


def test_quotes_recall_and_speaker():
    gold = [c.Gold("quote", "a", "x", speaker="ali-khamenei", span=(1, 0, 20), language="en"),
            c.Gold("quote", "a", "y", speaker="Borna News", span=(1, 30, 60), language="en"),
            c.Gold("quote", "b", "z", speaker="ahmad-vahidi", span=(2, 0, 20), language="fa"),
            c.Gold("quote", "b", "w", speaker="ahmad-vahidi", span=None, language="fa")]
    stored = [quote(1, 5, 15, key="entity:ali-khamenei"), quote(1, 35, 70, key="name:borna news", name="Borna News"),
              quote(2, 0, 20, key="entity:ali-khamenei")]
    r = c.score_quotes(stored, gold)
    assert r["overall"] == {"gold": 4, "found": 3, "recall": 0.75, "speaker_right": 2, "speaker_accuracy": round(2 / 3, 4)}
    assert r["by_language"]["fa"]["speaker_accuracy"] == 0.0


def test_dates_and_undated_documents():
    docs = {"a": NS(published_at=datetime(2022, 10, 3, 12)), "b": NS(published_at=datetime(2022, 10, 4)),
            "c": NS(published_at=None)}
    gold = [c.Gold("date", "a", "3 Oct", note="2022-10-03; crawler prefix"), c.Gold("date", "b", "x", note="2022-10-05"),
            c.Gold("date", "c", "x", note="2022-10-06")]
    r = c.score_dates(docs, gold)
    assert r["right"] == 1 and r["accuracy"] == round(1 / 3, 4) and r["documents_without_date"] == 1
    assert {w["file"] for w in r["wrong"]} == {"b", "c"}


def test_boilerplate_removed_share():
    texts = {"a": "Title\n\nBody text here.\n\nRead more"}
    gold = [c.Gold("boilerplate", "a", "Read more"), c.Gold("boilerplate", "a", "Share this"),
            c.Gold("boilerplate", "a", "Body"), c.Gold("boilerplate", "z", "Menu")]
    r = c.score_boilerplate(texts, gold)
    # "Body" is inside a kept paragraph but is not a line of its own: it is gone as a line
    assert r["kept"] == 1 and r["removed"] == 2 and r["document_missing"] == 1 and r["removed_share"] == round(2 / 3, 4)


# -- the whole, on a fake workspace ------------------------------------------------------------


class FakeWorkspace:
    def __init__(self):
        text = "Title\n\nRiots were planned abroad. Calm is back."
        self.docs = [NS(id=1, origin="/x/docs/001-a.txt", text=text, published_at=None)]

    def documents(self, **kw):
        return self.docs

    def matches(self, **kw):
        return [match(1, 7, 34, "riots", holder_kind="outlet", holder=None)]

    def contradictions(self, **kw):
        return []

    def quotes(self, **kw):
        return []


def test_evaluate_reads_the_workspace_and_renders_every_section():
    manifest = [{"file": "docs/001-a.txt", "language": "en"}]
    gold = [c.Gold("sentence", "docs/001-a.txt", "Riots were planned abroad.", "riots", "asserts", "outlet"),
            c.Gold("sentence", "docs/001-a.txt", "Calm is back.", "calm", "asserts", "outlet"),
            c.Gold("boilerplate", "docs/001-a.txt", "Menu")]
    res = c.evaluate(FakeWorkspace(), gold, manifest)
    assert res["matches"]["overall"]["recall"] == 0.5 and res["matches"]["overall"]["precision"] == 1.0
    assert res["holder"]["collapsed"]["accuracy"] == 1.0 and res["boilerplate"]["removed_share"] == 1.0
    res["build"] = {"documents": 1, "gold_rows": {}, "workspace": "(fake)"}
    text = c.render(res)
    for section in ("Build", "Matches", "Stance", "Holder", "Contradictions", "Quotes", "Dates", "Boilerplate"):
        assert f"== {section}" in text


def test_missing_corpus_exits_1(tmp_path, capsys):
    assert c.main(["--eval-dir", str(tmp_path)]) == 1
    assert "no campaign-dev corpus" in capsys.readouterr().err


@pytest.mark.integration  # builds and analyses four real documents with the models: tens of seconds
def test_campaign_dev_small_build(tmp_path, capsys):
    if not (EVAL_DIR / "campaign-dev" / "manifest.jsonl").is_file():
        pytest.skip(f"campaign-dev corpus not found at {EVAL_DIR / 'campaign-dev'}")
    out = tmp_path / "campaign.json"
    assert c.main(["--eval-dir", str(EVAL_DIR), "--limit-docs", "4", "--workspace", str(tmp_path / "ws.db"),
                   "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for section in ("Build", "Matches", "Stance", "Holder", "Contradictions", "Quotes", "Dates", "Boilerplate"):
        assert f"== {section}" in text
    res = json.loads(out.read_text(encoding="utf-8"))
    assert set(c.SECTIONS) <= set(res)
    assert res["build"]["documents"] == 4 and res["build"]["ingest"]["added"] == 4
    assert res["matches"]["overall"]["gold"] > 0 and res["spans"]["unlocated_total"] == 0


@pytest.mark.integration  # the whole real corpus through every stage: ~10-15 min on 2 cores
def test_campaign_dev_gate_floors():
    """Floors in quality/floors.toml [campaign], on the whole of campaign-dev (real text decides)."""
    import tomllib

    if not (EVAL_DIR / c.CORPUS).is_dir():
        pytest.skip(f"{EVAL_DIR / c.CORPUS} not found (the shared evaluation data sits beside the repo)")
    floors = tomllib.loads((Path(__file__).resolve().parents[2] / "quality" / "floors.toml").read_text())["campaign"]
    res = c.run(EVAL_DIR)
    got = {
        "match_precision": res["matches"]["overall"]["precision"],
        "match_recall": res["matches"]["overall"]["recall"],
        "none_matched_max": res["matches"]["none_matched"],
        "stance_accuracy": res["stance"]["accuracy"],
        "denies_recall": res["stance"]["classes"]["denies"]["recall"],  # printed, not gated
        "holder_collapsed_accuracy": res["holder"]["collapsed"]["accuracy"],
        "contradictions_found": res["contradictions"]["found"],
        "quote_recall": res["quotes"]["overall"]["recall"],
    }
    print("\ncampaign-dev:", json.dumps(got))
    _check_floors(got, floors)


@pytest.mark.integration  # the real corpus ingested and its quotes extracted: ~2-4 min on 2 cores
def test_campaign_dev_record_gate_floors():
    """Floors in quality/floors.toml [campaign_record]: the record as ingest makes it on its own —
    no manifest dates or sources passed, only the quotes stage (a build of a few minutes): dates,
    source matching by URL, boilerplate removed, gold spans kept, quote speakers."""
    import tomllib

    if not (EVAL_DIR / c.CORPUS).is_dir():
        pytest.skip(f"{EVAL_DIR / c.CORPUS} not found (the shared evaluation data sits beside the repo)")
    floors = tomllib.loads((Path(__file__).resolve().parents[2] / "quality" / "floors.toml").read_text())
    floors = floors["campaign_record"]
    res = c.run(EVAL_DIR, manifest_dates=False, manifest_sources=False, stages=["quotes"])
    got = {
        "date_accuracy": res["dates"]["accuracy"],
        "source_by_url": res["sources"]["accuracy"],
        "boilerplate_removed": res["boilerplate"]["removed_share"],
        "gold_spans_lost_max": res["spans"]["unlocated_total"],
        "quote_recall": res["quotes"]["overall"]["recall"],
        "quote_speaker_accuracy": res["quotes"]["overall"]["speaker_accuracy"],
    }
    print("\ncampaign-dev record:", json.dumps(got))
    _check_floors(got, floors)


def _check_floors(got: dict, floors: dict) -> None:
    """A ``*_max`` floor is a ceiling; every other one a floor."""
    for name, floor in floors.items():
        if name.endswith("_max"):
            assert got[name] <= floor, f"{name} {got[name]} rose above {floor}"
        else:
            assert got[name] >= floor, f"{name} {got[name]} fell below the floor {floor}"
