"""The NLI cross-encoder's ONNX Runtime engines (match/onnx_layers.py, cross_nli ENGINES)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from narratrace.match import onnx_layers  # noqa: E402
from narratrace.match.cross_nli import CrossNLIError, _gelu, _softmax  # noqa: E402
from narratrace.match.e5_weights import layer_norm as _ln  # noqa: E402
from narratrace.match.nli import load_nli  # noqa: E402
from narratrace.match.relatedness import Calibration  # noqa: E402

PAIRS = [
    ("A man is playing a guitar on stage.", "A man is playing an instrument."),
    ("A man is playing a guitar on stage.", "Nobody is playing music."),
    ("The minister said the talks would resume on Monday.", "The talks will resume."),
    ("The ministry denied that any soldiers were sent abroad.", "Soldiers were sent abroad."),
    ("وزیر گفت مذاکرات از دوشنبه ادامه می‌یابد.", "مذاکرات ادامه می‌یابد."),
    ("Prices rose by 40 percent last year.", "Prices fell last year."),
]


def _tiny_layers(n: int = 2, H: int = 32, FF: int = 64, seed: int = 0) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    f = lambda *s: (rng.standard_normal(s) * 0.2).astype(np.float32)  # noqa: E731
    return [{"qkv.w": f(H, 3 * H), "qkv.b": f(3 * H), "ao.w": f(H, H), "ao.b": f(H),
             "fi.w": f(H, FF), "fi.b": f(FF), "fo.w": f(FF, H), "fo.b": f(H),
             "aln.w": 1 + f(H), "aln.b": f(H), "oln.w": 1 + f(H), "oln.b": f(H)} for _ in range(n)]


def _numpy_layers(layers, x, mask, NH: int, eps: float) -> np.ndarray:
    """The numpy forward of cross_nli, written out for (B, L, H) input."""
    B, L, H = x.shape
    hd = H // NH
    neg = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
    x = x.reshape(B * L, H)
    for ly in layers:
        qkv = (x @ ly["qkv.w"] + ly["qkv.b"]).reshape(B, L, 3, NH, hd)
        q, k, v = (qkv[:, :, j].transpose(0, 2, 1, 3) for j in range(3))
        att = _softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + neg)
        ctx = (att @ v).transpose(0, 2, 1, 3).reshape(B * L, H)
        x = _ln(x + ctx @ ly["ao.w"] + ly["ao.b"], ly["aln.w"], ly["aln.b"], eps)
        x = _ln(x + _gelu(x @ ly["fi.w"] + ly["fi.b"]) @ ly["fo.w"] + ly["fo.b"], ly["oln.w"], ly["oln.b"], eps)
    return x.reshape(B, L, H)


def _calibration(seed: int = 2):
    x = np.random.default_rng(seed).standard_normal((4, 6, 32)).astype(np.float32)
    return x, np.ones((4, 6), bool)


def _run(path, x, mask):
    neg = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
    return onnx_layers.session(path).run(None, {"x": x, "bias": neg})[0]


def test_the_graph_computes_the_numpy_layers(tmp_path, monkeypatch):
    monkeypatch.setenv("NARRATRACE_CACHE", str(tmp_path))
    layers = _tiny_layers()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 7, 32)).astype(np.float32)
    mask = np.ones((3, 7), bool)
    mask[1, 5:] = False  # padding must not change the real tokens' outputs
    path = onnx_layers.built_model(layers, 32, 4, 1e-12, quantize=False, name="tiny")
    got, want = _run(path, x, mask), _numpy_layers(layers, x, mask, 4, 1e-12)
    # the graph's GELU is the exact erf form, numpy's the tanh one: agreement to ~1e-3
    assert np.abs(got - want)[mask].max() < 5e-3
    assert np.abs(got[1, :5] - _run(path, x[1:2, :5], mask[1:2, :5])[0]).max() < 1e-4


def test_smoothing_moves_an_outlier_channel_into_the_weights_without_changing_the_function(tmp_path, monkeypatch):
    monkeypatch.setenv("NARRATRACE_CACHE", str(tmp_path))
    layers = _tiny_layers()
    gmax = [np.ones(64, np.float32) for _ in layers]
    gmax[1][7] = 50.0  # one channel 50× the others, as layer 4 of the shipped model has
    smooth = onnx_layers.smooth_ffn(layers, gmax, pct=90)  # 64 channels: the 99th would interpolate
    assert smooth[1]["fo.s"][7] == pytest.approx(1 / 50) and np.allclose(np.delete(smooth[1]["fo.s"], 7), 1)
    assert np.allclose(smooth[1]["fo.w"][7], layers[1]["fo.w"][7] * 50, rtol=1e-6)
    x, mask = _calibration()
    plain = _run(onnx_layers.built_model(layers, 32, 4, 1e-12, quantize=False, name="a"), x, mask)
    scaled = _run(onnx_layers.built_model(smooth, 32, 4, 1e-12, quantize=False, name="b"), x, mask)
    assert np.abs(plain - scaled).max() < 1e-4


def test_an_int8_build_needs_calibration(tmp_path, monkeypatch):
    monkeypatch.setenv("NARRATRACE_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match="calibration"):
        onnx_layers.built_model(_tiny_layers(), 32, 4, 1e-12, quantize=True, name="tiny")


def test_the_model_is_built_once_and_keyed_by_its_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("NARRATRACE_CACHE", str(tmp_path))
    cal = _calibration()
    a = onnx_layers.built_model(_tiny_layers(), 32, 4, 1e-12, quantize=True, name="tiny", calibration=cal)
    mtime = a.stat().st_mtime_ns
    assert onnx_layers.built_model(_tiny_layers(), 32, 4, 1e-12, quantize=True, name="tiny", calibration=cal) == a
    assert a.stat().st_mtime_ns == mtime  # read from the cache, not rebuilt
    b = onnx_layers.built_model(_tiny_layers(seed=5), 32, 4, 1e-12, quantize=True, name="tiny", calibration=cal)
    c = onnx_layers.built_model(_tiny_layers(), 32, 4, 1e-12, quantize=True, name="tiny", calibration=_calibration(3))
    assert len({a, b, c}) == 3 and a.parent == b.parent == tmp_path / "onnx"
    assert not [p for p in a.parent.iterdir() if p.name.startswith(".build-")]  # no leftovers


def _build_in_child(cache: str) -> str:
    os.environ["NARRATRACE_CACHE"] = cache
    return str(onnx_layers.built_model(_tiny_layers(n=4), 32, 4, 1e-12, quantize=True, name="race",
                                       calibration=_calibration()))


def test_two_processes_building_at_once_get_one_whole_file(tmp_path):
    with ProcessPoolExecutor(2) as pool:
        paths = list(pool.map(_build_in_child, [str(tmp_path)] * 2))
    assert paths[0] == paths[1]
    x = np.ones((1, 3, 32), np.float32)
    assert np.isfinite(_run(paths[0], x, np.ones((1, 3), bool))).all()  # loads: not half-written


def test_an_unwritable_cache_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NARRATRACE_CACHE", str(blocker))
    with pytest.raises(onnx_layers.OnnxUnavailable, match="NARRATRACE_CACHE"):
        onnx_layers.built_model(_tiny_layers(), 32, 4, 1e-12, quantize=False, name="tiny")


def test_an_unknown_engine_is_refused_by_name():
    with pytest.raises(CrossNLIError, match="NARRATRACE_NLI_ENGINE"):
        load_nli(engine="onnx-int4")


def test_the_shipped_model_agrees_across_engines():
    prem, hyp = [p for p, _ in PAIRS], [h for _, h in PAIRS]
    ref = load_nli(engine="numpy")
    fp32, int8 = load_nli(engine="onnx-fp32"), load_nli(engine="onnx-int8")
    assert ref.model_id + "+onnx-int8" == int8.model_id and fp32.model_id.endswith("+onnx-fp32")
    p_ref = ref.predict(prem, hyp)
    assert np.abs(fp32.predict(prem, hyp) - p_ref).max() < 0.01
    p8 = int8.predict(prem, hyp)
    assert np.abs(p8 - p_ref).mean() < 0.03 and (p8.argmax(1) == p_ref.argmax(1)).mean() >= 5 / 6
    # one calibration serves the weights under every engine
    spec = {"nli_model": ref.model_id, "related": {"w": [0] * 6, "b": 0.0}}
    assert Calibration(spec, int8.model_id).active and not Calibration(spec, "other-weights+onnx-int8").active


def test_onnx_runtime_loads_after_the_vector_index(tmp_path):
    """usearch loaded before onnxruntime crashed the process (segfault); the index is created
    through vectors.usearch_index, which loads onnxruntime first."""
    code = ("from narratrace.match.vectors import usearch_index\n"
            "usearch_index(ndim=4, metric='cos', dtype='f16')\n"
            "import onnxruntime\n"
            "print('ok', onnxruntime.__version__)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("ok"), (r.returncode, r.stderr[-2000:])
