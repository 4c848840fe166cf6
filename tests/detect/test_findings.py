"""Contradiction findings: one per claim pair and document pair, the rest folded, cross-audience
first (detect/contradictions._Findings), without a store."""

from datetime import datetime

from narratrace.detect.contradictions import _Findings, _Stmt


def _s(sid, doc, audience, day):
    return _Stmt(sid, doc, doc, audience, "en", datetime(2026, 3, day))


def test_one_finding_per_claim_pair_and_document_pair_best_first():
    f = _Findings(actor_id=1, now=datetime(2026, 3, 10))
    a1, a2 = _s(1, 10, "foreign", 1), _s(2, 10, "foreign", 1)
    b1, b2 = _s(3, 20, "domestic", 2), _s(4, 20, "domestic", 2)
    c1 = _s(5, 30, "foreign", 3)
    row = lambda score: {"kind": "narratives", "score": score}  # noqa: E731
    f.add(a1, b1, row(0.5), (7, 8))
    f.add(a2, b2, row(0.9), (7, 8))   # same claims, same documents: replaces, the first is folded
    f.add(a1, b2, row(0.4), (7, 8))   # folded too
    f.add(a1, c1, row(0.95), (7, 8))  # another document pair: its own finding
    rows = f.rows()
    assert len(rows) == 2
    top = rows[0]
    # cross-audience first even though the same-audience pair scores higher
    assert top["cross_audience"] and top["score"] == 0.9 and top["folded"] == 2
    assert (top["sentence_a_id"], top["sentence_b_id"]) == (2, 4)
    assert not rows[1]["cross_audience"] and rows[1]["folded"] == 0


def test_earlier_statement_is_side_a():
    f = _Findings(actor_id=1, now=datetime(2026, 3, 10))
    late, early = _s(1, 10, "foreign", 9), _s(2, 20, "domestic", 2)
    f.add(late, early, {"kind": "stance", "score": 0.8}, (3, 3))
    r = f.rows()[0]
    assert (r["sentence_a_id"], r["sentence_b_id"]) == (2, 1)


def test_narrative_evidence_outranks_nli_for_the_same_sentence_pair():
    f = _Findings(actor_id=1, now=datetime(2026, 3, 10))
    a, b = _s(1, 10, "foreign", 1), _s(2, 20, "domestic", 2)
    f.add(a, b, {"kind": "nli", "score": 0.99}, ("nli",))
    f.add(a, b, {"kind": "narratives", "score": 0.6}, (1, 2))
    rows = f.rows()
    assert len(rows) == 1 and rows[0]["kind"] == "narratives" and rows[0]["folded"] == 1
