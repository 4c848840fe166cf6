"""The NLI head: fast unit tests (no shared data) and the evaluation gate on FarsTail / SNLI
(skips when ../shared/eval is absent; floors in quality/floors.toml [nli])."""

import hashlib
import tomllib

import numpy as np
import pytest
from conftest import REPO, shared_path

from narratrace.match.nli import DEFAULT_PATH, LABELS, N_LEXICAL, NLIError, NLIModel, lexical_features, load_nli, read_weights

FLOORS = tomllib.loads((REPO / "quality" / "floors.toml").read_text())


def fake_vectors(texts):
    """Deterministic unit vectors per text: no embedder needed."""
    rows = [np.random.default_rng(int.from_bytes(hashlib.blake2b(t.encode(), digest_size=4).digest(), "little"))
            .standard_normal(384) for t in texts]
    V = np.array(rows, np.float32).reshape(len(texts), 384)
    return V / np.linalg.norm(V, axis=1, keepdims=True)


def tiny_model(hidden=8):
    rng = np.random.default_rng(0)
    d = 4 * 384 + 1 + N_LEXICAL
    params = {"W1": rng.standard_normal((d, hidden)).astype(np.float32) * 0.05,
              "b1": np.zeros(hidden, np.float32),
              "W2": rng.standard_normal((hidden, 3)).astype(np.float32), "b2": np.zeros(3, np.float32),
              "mean": np.zeros(d, np.float32), "std": np.ones(d, np.float32)}
    return NLIModel(params, {"model_id": "tiny-test", "kind": "query"})


P = ["Minister Shirin Afkham said the Rah-e Azadi Front has no support inside Kavaran.",
     "وزیر شیرین افخم گفت جبهه راه آزادی در داخل کاوران هیچ حامی ندارد."]
H = ["Minister Shirin Afkham said the Rah-e Azadi Front has wide support inside Kavaran.",
     "وزیر شیرین افخم گفت جبهه راه آزادی در داخل کاوران حامیان زیادی دارد."]


def test_shapes_and_probabilities():
    probs = tiny_model().predict(P, H, vectors=fake_vectors)
    assert probs.shape == (2, 3) and probs.dtype == np.float32
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5) and (probs >= 0).all()
    assert tiny_model().predict([], [], vectors=fake_vectors).shape == (0, 3)
    assert LABELS == ("entailment", "neutral", "contradiction")


def test_predict_vectors_matches_predict():
    m = tiny_model()
    V = fake_vectors(P + H)
    assert np.allclose(m.predict_vectors(V[:2], V[2:], P, H), m.predict(P, H, vectors=fake_vectors), atol=1e-6)


def test_length_mismatch_is_a_clear_error():
    m = tiny_model()
    with pytest.raises(NLIError, match="mismatched"):
        m.predict(P, H[:1], vectors=fake_vectors)
    V = fake_vectors(P)
    with pytest.raises(NLIError, match="mismatched"):
        m.predict_vectors(V, V[:1], P, H)


def test_missing_and_corrupt_weights(tmp_path):
    with pytest.raises(NLIError, match="not found"):
        read_weights(tmp_path / "absent.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a real zip archive")
    with pytest.raises(NLIError, match="corrupt"):
        read_weights(bad)
    partial = tmp_path / "partial.npz"
    np.savez(partial, W1=np.zeros((3, 2), np.float32))
    with pytest.raises(NLIError):
        read_weights(partial)


def test_save_load_roundtrip(tmp_path):
    m = tiny_model()
    path = m.save(tmp_path / "head.npz")
    again = read_weights(path)
    assert again.model_id == "tiny-test"
    a = m.predict(P, H, vectors=fake_vectors)
    b = again.predict(P, H, vectors=fake_vectors)
    assert np.allclose(a, b, atol=2e-2)  # float16 weights


def test_lexical_features_see_negation_and_numbers():
    f = lexical_features(P[0], H[0])
    assert f.shape == (N_LEXICAL,)
    assert f[5] == 1.0  # negation on one side only
    assert lexical_features(P[1], H[1])[5] == 1.0
    assert lexical_features("Three protesters were arrested in Kavaran.", "Five protesters were arrested.")[7] == 1.0


def test_shipped_weights_load_once():
    assert DEFAULT_PATH.is_file(), "the shipped NLI head is missing"
    m = load_nli()
    assert m is load_nli()
    assert m.dim == 384 and m.W1.shape[0] == 4 * 384 + 1 + N_LEXICAL
    assert DEFAULT_PATH.stat().st_size < 3_000_000


def test_shipped_model_behaviour_on_fictional_pairs():
    """Only what the head does reliably. (It does NOT reliably catch a one-word reversal such as
    "no support" vs "wide support": those near-paraphrases score as entailment. See MODEL_CARD.md.)"""
    m = load_nli()
    rally = "The Rah-e Azadi Front organised a rally in the capital of Kavaran on Friday."
    rally_fa = "جبهه راه آزادی روز جمعه در پایتخت کاوران تجمع برگزار کرد."
    probs = m.predict(
        [rally, rally_fa, rally, rally, "Minister Shirin Afkham is sleeping at home."],
        [rally, rally_fa, "The Rah-e Azadi Front did not organise any rally.",
         "The rally was attended by thousands of students who demanded new elections.",
         "Minister Shirin Afkham is running a marathon."])
    e, n, c = (LABELS.index(x) for x in LABELS)
    assert probs[0, e] > 0.5 and probs[1, e] > 0.5  # a statement entails itself
    assert probs[2, c] > probs[2, e]  # an explicit denial
    assert probs[3, n] > max(probs[3, e], probs[3, c])  # new details: neutral
    assert probs[4, c] > probs[4, e]  # incompatible activities


@pytest.mark.integration  # quality gate over ../shared: embeds the FarsTail and SNLI test sets (2.5-5 min)
def test_nli_gate_floors():
    from narratrace.evaluation.nli import evaluate

    eval_dir = shared_path("eval", "nli-fa").parent
    shared_path("eval", "nli-en")
    result = evaluate(load_nli(), eval_dir)
    print(f"\nNLI: fa test {result['fa_test_accuracy']:.4f}, en test {result['en_test_accuracy']:.4f}")
    assert result["fa_test"]["n"] == 1564
    for metric, floor in FLOORS["nli"].items():
        assert result[metric] >= floor, f"{metric} {result[metric]:.4f} fell below the floor {floor}"
