"""The relatedness decision (match/relatedness.py) and view choice (match/stance.choose)."""

import numpy as np

from narratrace.enrich.holder import View
from narratrace.match import relatedness as rel
from narratrace.match.stance import choose


def test_logistic_fit_recovers_a_separating_direction():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 6))
    y = (X[:, 3] - X[:, 4] + 0.1 * rng.standard_normal(400) > 0).astype(float)
    w, b = rel.fit_logistic(X, y, l2=10.0)
    assert w[3] > 1 and w[4] < -1 and max(abs(w[0]), abs(w[1]), abs(w[2]), abs(w[5])) < 0.5 * w[3]
    p = 1 / (1 + np.exp(-(X @ np.array(w) + b)))
    assert ((p > 0.5) == (y == 1)).mean() > 0.9


def test_calibration_for_another_model_falls_back_to_the_plain_rule():
    spec = {"nli_model": "model-a", "related": {"w": [0, 0, 0, 5, 5, 5], "b": -2.0},
            "stance": {"w": [0, 0, 0, -4, 4, 4], "b": 0.0}, "sensitivity": 0.6}
    f_topic = rel.features(0.86, 0.85, 0.05, 0.05, 0.05)      # on topic, no claim
    f_claim = rel.features(0.88, 0.84, 0.9, 0.02, 0.01)
    f_denial = rel.features(0.87, 0.86, 0.05, 0.8, 0.1)
    same = rel.Calibration(spec, "model-a")
    other = rel.Calibration(spec, "model-b")
    assert same.active and not other.active and other.fitted_for == "model-a"
    assert same.related(f_claim) > 0.5 > same.related(f_topic)
    assert same.denies(f_denial) > 0.5 > same.denies(f_claim)
    assert same.default_sensitivity(0.5) == 0.6 and other.default_sensitivity(0.5) == 0.5
    # uncalibrated: the highest NLI probability; denies when contradiction beats entailment
    assert other.related(f_claim) == 0.9 and other.denies(f_denial) == 1.0 and other.denies(f_claim) == 0.0


def test_no_counter_statements_still_gives_six_features():
    f = rel.features(0.9, None, 0.5, 0.1, None)
    assert len(f) == len(rel.FEATURES) and f[1] == 0.9 - rel.NO_COUNTER_GAP and f[5] == 0.0


def test_a_reporting_view_carries_the_claim_over_the_own_voice():
    own, rep = View("outlet", None, 0, 50), View("reported", "the regime", 18, 50)
    assert choose([(own, 0.7, 0.1, []), (rep, 0.6, 0.1, [])], 0.5)[0] is rep
    # unless the reported content is not about the narrative
    assert choose([(own, 0.7, 0.1, []), (rep, 0.2, 0.1, [])], 0.5)[0] is own
    assert choose([(own, 0.3, 0.1, []), (rep, 0.2, 0.1, [])], 0.5) is None


def test_a_claim_quoted_nearly_whole_stays_the_speakers_when_only_the_own_voice_reads_related():
    """"«…», he said." with the quote alone a little short of the narrative: the outlet still only
    wrote the attribution, so the speaker holds it, at the own voice's probabilities."""
    own, quote = View("outlet", None, 0, 60), View("speaker", "afkham", 1, 52, None, "afkham")
    got = choose([(own, 0.7, 0.2, []), (quote, 0.4, 0.1, [])], 0.5)
    assert got[0] == quote and got[1:3] == (0.7, 0.2)
    # a reported part well short of the sentence leaves the claim with the outlet
    part = View("reported", "state media", 30, 60)
    assert choose([(own, 0.7, 0.2, []), (part, 0.4, 0.1, [])], 0.5)[0] is own
    # a denial frame lends its holder only: the own voice already read "denied" in the sentence
    denial = View("speaker", "the police", 0, 55, None, None, True)
    got = choose([(own, 0.7, 0.9, []), (denial, 0.3, 0.1, [])], 0.5)
    assert got[0].holder == "the police" and not got[0].negates and got[2] == 0.9
