"""An e5-small encoder's 12 layers as an ONNX graph, run by ONNX Runtime, int8 when asked.

Why: numpy's float32 forward of the NLI cross-encoder is ~80 % of an analysis (bench/RESULTS.md,
2026-12-01). ONNX Runtime's dynamically quantised int8 matmuls run the same layers ~2.5× faster
on one core of the CI machine (AVX2, no VNNI) and use its own threads, so the cost of a pair
falls without a new engine to maintain.

What is built: the transformer layers only — the caller does the word-table gather (the table
stays 4-bit in numpy: 250k × 384 floats would be 384 MB in a graph), the embedding LayerNorm,
the pooling and the head. Inputs ``x`` (B, L, H) float32 and ``bias`` (B, 1, 1, L) float32 (0 for
a token, −1e9 for padding); output ``h`` (B, L, H). GELU is the exact (erf) form that training
used; numpy's forward uses the tanh form (difference < 4e-4 per activation).

The graph is built from the weights the caller already holds (packed base + the project's
deltas), so nothing but the shipped files is needed — no torch, no download. Built once per
set of weights and cached under ``cache_dir()`` by a hash of the weights and of the build
recipe, written to a temporary name and renamed into place under a lock, so two processes
starting at once build it once and neither reads a half-written file.

onnx and onnxruntime are imported only here.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from narratrace import settings
from narratrace.errors import Unavailable

# Bump when the graph or the quantisation recipe changes: the cache key includes it.
RECIPE = "layers-v1-smooth99"
# int8 error against numpy's float32 forward, on 600 campaign-dev sentence × statement pairs
# (2026-12-02; mean |Δp|, share of pairs with the same most likely label): every matmul int8,
# 0.025 / 0.962; GELU outliers above the 99th percentile smoothed (smooth_ffn), 0.009 / 0.988
# (the 90th–99.9th gave 0.009–0.010); the FFN down-projections left in float32 instead, 0.008 /
# 0.992 but at ~1.7× numpy's pairs/s instead of ~2.6×.
SMOOTH_PERCENTILE = 99.0
OPSET = 20  # Gelu is an ONNX op from opset 20 (ONNX Runtime ≥ 1.16)


class OnnxUnavailable(Unavailable):
    pass


def cache_dir() -> Path:
    """``$NARRATRACE_CACHE`` or the user's cache folder (``$XDG_CACHE_HOME``, else ~/.cache)."""
    env = settings.get("NARRATRACE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "narratrace"


def weights_key(layers: list[dict[str, np.ndarray]], quantize: bool, calibration: np.ndarray | None = None,
                builder: str = "") -> str:
    """Hash of everything the built file depends on (``builder``: the quantiser's version)."""
    h = hashlib.sha256(f"{RECIPE}|int8={quantize}|{builder}".encode())
    if calibration is not None:
        h.update(np.ascontiguousarray(calibration, np.float32).tobytes())
    for ly in layers:
        for name in sorted(ly):
            a = np.ascontiguousarray(ly[name], np.float32)
            h.update(name.encode())
            h.update(str(a.shape).encode())
            h.update(a.tobytes())
    return h.hexdigest()[:24]


def build_graph(layers: list[dict[str, np.ndarray]], H: int, NH: int, eps: float, taps: bool = False):
    """The layers as an ONNX ModelProto (``taps``: each layer's GELU output is an output too).
    ``layers``: per layer ``qkv.w`` (H, 3H), ``qkv.b``, ``ao.w`` (H, H), ``ao.b``, ``fi.w`` (H, FF),
    ``fi.b``, ``fo.w`` (FF, H), ``fo.b``, the LayerNorms ``aln.w/b``, ``oln.w/b`` — the (in, out)
    layout of ``x @ W`` — and optionally ``fo.s`` (FF,), a scale on the GELU output (smooth_ffn)."""
    from onnx import TensorProto, helper, numpy_helper  # lazy: onnx only builds (once), inference needs none

    hd = H // NH
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.array(arr, order="C"), name))  # ascontiguousarray would make a scalar 1-D
        return name

    def node(op, ins, out, **attrs):
        nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        return out

    shape5 = const("shape_qkv", np.array([0, 0, 3, NH, hd], np.int64))
    shape3 = const("shape_h", np.array([0, 0, H], np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(hd), np.float32))
    idx = [const(f"i{k}", np.array(k, np.int64)) for k in range(3)]
    x = "x"
    for li, ly in enumerate(layers):
        p = f"l{li}."
        qkv = node("MatMul", [x, const(p + "qkv.w", ly["qkv.w"])], p + "qkv")
        qkv = node("Add", [qkv, const(p + "qkv.b", ly["qkv.b"])], p + "qkv_b")
        qkv = node("Reshape", [qkv, shape5], p + "qkv_r")
        qkv = node("Transpose", [qkv], p + "qkv_t", perm=[2, 0, 3, 1, 4])  # (3, B, NH, L, hd)
        q, k, v = (node("Gather", [qkv, idx[j]], p + "qkv"[j], axis=0) for j in range(3))
        kt = node("Transpose", [k], p + "kt", perm=[0, 1, 3, 2])
        s = node("MatMul", [q, kt], p + "scores")
        s = node("Mul", [s, scale], p + "scaled")
        s = node("Add", [s, "bias"], p + "masked")
        a = node("Softmax", [s], p + "att", axis=-1)
        c = node("MatMul", [a, v], p + "ctx")
        c = node("Transpose", [c], p + "ctx_t", perm=[0, 2, 1, 3])
        c = node("Reshape", [c, shape3], p + "ctx_r")
        o = node("MatMul", [c, const(p + "ao.w", ly["ao.w"])], p + "ao")
        o = node("Add", [o, const(p + "ao.b", ly["ao.b"])], p + "ao_b")
        o = node("Add", [x, o], p + "res1")
        x = node("LayerNormalization", [o, const(p + "aln.w", ly["aln.w"]), const(p + "aln.b", ly["aln.b"])],
                 p + "ln1", axis=-1, epsilon=eps)
        f = node("MatMul", [x, const(p + "fi.w", ly["fi.w"])], p + "fi")
        f = node("Add", [f, const(p + "fi.b", ly["fi.b"])], p + "fi_b")
        f = node("Gelu", [f], p + "gelu")
        if "fo.s" in ly:  # per-channel smoothing of the GELU outputs (see smooth_ffn)
            f = node("Mul", [f, const(p + "fo.s", ly["fo.s"])], p + "gelu_s")
        f = node("MatMul", [f, const(p + "fo.w", ly["fo.w"])], p + "fo")
        f = node("Add", [f, const(p + "fo.b", ly["fo.b"])], p + "fo_b")
        f = node("Add", [x, f], p + "res2")
        x = node("LayerNormalization", [f, const(p + "oln.w", ly["oln.w"]), const(p + "oln.b", ly["oln.b"])],
                 p + "ln2", axis=-1, epsilon=eps)
    nodes.append(helper.make_node("Identity", [x], ["h"], name="h"))
    graph = helper.make_graph(
        nodes, "e5_layers",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "L", H]),
         helper.make_tensor_value_info("bias", TensorProto.FLOAT, ["B", 1, 1, "L"])],
        [helper.make_tensor_value_info("h", TensorProto.FLOAT, ["B", "L", H])]
        + [helper.make_tensor_value_info(f"l{i}.gelu", TensorProto.FLOAT, ["B", "L", None])
           for i in range(len(layers)) if taps], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="narratrace")


class _DropHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


@contextlib.contextmanager
def _quiet_preprocess_hint():
    """quantize_dynamic logs advice meant for its developers' image models to the root logger."""
    f = _DropHint()
    root = logging.getLogger()
    root.addFilter(f)
    try:
        yield
    finally:
        root.removeFilter(f)


@contextlib.contextmanager
def _lock(path: Path):
    """An exclusive lock on ``path`` (a second process waits for the first one's build)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def smooth_ffn(layers: list[dict[str, np.ndarray]], gelu_max: list[np.ndarray],
               pct: float = SMOOTH_PERCENTILE) -> list[dict[str, np.ndarray]]:
    """Layers whose GELU outliers are scaled into range before int8 (SmoothQuant's idea, Xiao et
    al. 2023, applied to the FFN down-projection): a channel j whose largest output on the
    calibration pairs is above the layer's ``pct``-th percentile is multiplied by 1/s_j in the
    graph and row j of ``fo.w`` by s_j — the same function in float32, but one int8 scale per
    tensor no longer has to stretch over one channel 14–67× larger than the rest (measured on
    the shipped model: layers 0, 4 and 5 each have one)."""
    out = []
    for ly, amax in zip(layers, gelu_max):
        s = np.maximum(1.0, amax / max(float(np.percentile(amax, pct)), 1e-6)).astype(np.float32)
        ly = dict(ly)
        ly["fo.s"] = (1.0 / s).astype(np.float32)
        ly["fo.w"] = (ly["fo.w"] * s[:, None]).astype(np.float32)
        out.append(ly)
    return out


def _gelu_max(layers, H: int, NH: int, eps: float, calibration: tuple[np.ndarray, np.ndarray], tmp: Path):
    """Per layer, the largest |GELU output| of every FFN channel over the calibration tokens
    (32 pairs at a time: all twelve layers' outputs for 256 pairs would be ~0.75 GB)."""
    import onnx  # lazy: onnx only builds (once), inference needs none

    x, mask = calibration
    path = tmp / "taps.onnx"
    onnx.save_model(build_graph(layers, H, NH, eps, taps=True), str(path))
    sess = session(path)
    names = [f"l{i}.gelu" for i in range(len(layers))]
    best: list[np.ndarray] | None = None
    for lo in range(0, len(x), 32):
        m = mask[lo:lo + 32]
        bias = np.where(m, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        outs = [np.abs(o[m]).max(0) for o in sess.run(names, {"x": x[lo:lo + 32], "bias": bias})]
        best = outs if best is None else [np.maximum(a, b) for a, b in zip(best, outs)]
    return best


def built_model(layers: list[dict[str, np.ndarray]], H: int, NH: int, eps: float, *, quantize: bool,
                name: str, calibration: tuple[np.ndarray, np.ndarray] | None = None) -> Path:
    """The cached ONNX file for these layers, built (and int8-quantised) on first use.
    ``calibration``: embedded inputs ``x`` (B, L, H) and their token mask (B, L), needed for int8
    (``smooth_ffn``)."""
    try:
        import onnxruntime  # lazy: ~0.25 s, only for the NLI stages
    except ImportError as exc:
        raise OnnxUnavailable(f"ONNX Runtime is not installed ({exc}): pip install onnx onnxruntime, or set "
                              "NARRATRACE_NLI_ENGINE=numpy") from None
    if quantize and calibration is None:
        raise ValueError("an int8 build needs calibration inputs")
    d = cache_dir() / "onnx"
    key = weights_key(layers, quantize, calibration[0] if quantize else None, onnxruntime.__version__)
    out = d / f"{name}-{key}{'-int8' if quantize else ''}.onnx"
    if out.is_file():
        return out
    try:
        with _lock(d / (out.name + ".lock")):
            if out.is_file():  # another process built it while this one waited
                return out
            try:
                import onnx  # lazy: only to build (once per cache); loading the cached file needs none
            except ImportError as exc:
                raise OnnxUnavailable(f"building the ONNX model needs onnx ({exc}): pip install onnx, or set "
                                      "NARRATRACE_NLI_ENGINE=numpy") from None
            with tempfile.TemporaryDirectory(dir=d, prefix=".build-") as tmp:
                tmp = Path(tmp)
                if quantize:
                    layers = smooth_ffn(layers, _gelu_max(layers, H, NH, eps, calibration, tmp))
                fp32 = tmp / "fp32.onnx"
                onnx.save_model(build_graph(layers, H, NH, eps), str(fp32))
                final = fp32
                if quantize:
                    from onnxruntime.quantization import QuantType, quantize_dynamic  # lazy: int8 builds only

                    # int8 weights per output channel; activations quantised per call (dynamic)
                    final = tmp / "int8.onnx"
                    with _quiet_preprocess_hint():
                        quantize_dynamic(str(fp32), str(final), weight_type=QuantType.QInt8, per_channel=True)
                os.replace(final, out)
    except OSError as exc:
        raise OnnxUnavailable(f"cannot build the ONNX model in {d}: {exc} (set NARRATRACE_CACHE to a "
                              "writable folder, or NARRATRACE_NLI_ENGINE=numpy)") from exc
    return out


def session(path: Path, threads: int = 1):
    import onnxruntime as ort  # lazy: ~0.25 s, only for the NLI stages

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
