"""Benchmark: coordinated-publication detection (narratrace.detect.coordination.near_duplicate_groups).

Fictional corpora: outlets "outlet-001"…, articles made of random sentences over a small invented
vocabulary (no real names), published at random over 30 days. Planted coordination: 1 % of the
documents are originals that 1-4 other outlets re-publish within 10 minutes, each copy with a few
words changed or dropped. Everything else is background.

Per size, each step runs in its own subprocess (peak RSS = that step's ru_maxrss):
  text        near_duplicate_groups on text items (signatures computed inside, dedup.signature)
  signatures  near_duplicate_groups on the same items with precomputed signatures (LSH + grouping)
  all-pairs   baseline: every pair's MinHash agreement (numpy, blocked), same verification,
              components and windows — run where it finishes in reasonable time (--baseline-max)
Recall / precision: over planted same-group document pairs vs pairs in one found group.

    python bench/coordination.py                       # quick: 10,000
    python bench/coordination.py --sizes 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SYLLABLES = ["ka", "ver", "an", "dor", "mi", "sel", "tu", "ra", "no", "bek", "sha", "lin", "or", "qa", "zen",
             "pol", "ir", "ma", "tes", "vu", "del", "ko", "ran", "is"]
WORDS_PER_SENTENCE = (8, 15)
SENTENCES = (6, 10)
PLANTED_FRACTION = 0.01
DAYS = 30


def vocabulary(rng, n=4000):
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES, size=rng.integers(2, 4))))
    return np.array(sorted(words))


def generate(n: int, seed: int = 7):
    """(texts, sources, times, planted groups as lists of indices)."""
    rng = np.random.default_rng(seed)
    vocab = vocabulary(rng)
    outlets = [f"outlet-{i:03d}" for i in range(1, 201)]
    texts, sources, times, groups = [], [], [], []
    n_orig = max(1, int(n * PLANTED_FRACTION / 3.5))  # a group has 2-5 documents (3.5 on average)
    i = 0
    while len(texts) < n:
        words = vocab[rng.integers(0, len(vocab), size=rng.integers(*SENTENCES) * 12)]
        text = " ".join(words)
        t0 = float(1_780_000_000 + rng.uniform(0, DAYS * 86400))
        src = rng.choice(len(outlets), size=5, replace=False)
        if i < n_orig and len(texts) + 5 <= n:
            k = int(rng.integers(2, 6))
            g = []
            for c in range(k):
                w = words.copy()
                if c:  # a few edits: words replaced, one dropped
                    for pos in rng.integers(0, len(w), size=rng.integers(1, 4)):
                        w[pos] = vocab[rng.integers(0, len(vocab))]
                    w = np.delete(w, rng.integers(0, len(w)))
                g.append(len(texts))
                texts.append(" ".join(w))
                sources.append(outlets[src[c]])
                times.append(t0 + (rng.uniform(0, 600) if c else 0.0))
            groups.append(g)
        else:
            texts.append(text)
            sources.append(outlets[src[0]])
            times.append(t0)
        i += 1
    return texts, sources, np.array(times), groups


def pair_scores(found_groups, planted) -> dict:
    def pairs(groups):
        out = set()
        for g in groups:
            g = sorted(g)
            out.update((a, b) for k, a in enumerate(g) for b in g[k + 1:])
        return out

    P, F = pairs(planted), pairs(found_groups)
    tp = len(P & F)
    exact = len({tuple(sorted(g)) for g in planted} & {tuple(sorted(g)) for g in found_groups})
    return {"recall": tp / len(P) if P else 1.0, "precision": tp / len(F) if F else 1.0,
            "groups_exact": exact, "groups_planted": len(planted), "groups_found": len(found_groups)}


def all_pairs_groups(sig, times, sources, threshold, window):
    """Baseline: every pair's estimated Jaccard, then the same components and windows."""
    from narratrace.detect import coordination as C

    n = len(sig)
    edges = []
    for lo in range(0, n, 512):
        block = sig[lo:lo + 512]
        sims = np.zeros((len(block), n - lo))
        for r in range(len(block)):
            sims[r] = (sig[lo:] == block[r]).mean(axis=1)
        ii, jj = np.nonzero(sims >= threshold)
        jj = jj + lo
        keep = jj > ii + lo
        edges.append(np.stack([ii[keep] + lo, jj[keep]], axis=1))
    edges = np.concatenate(edges) if edges else np.zeros((0, 2), np.int64)
    if not len(edges):
        return []
    order = np.lexsort((np.arange(n), times))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    e = rank[edges]
    nodes = np.unique(e)
    label = C._components(len(nodes), np.searchsorted(nodes, e))
    t_sorted = times[order]
    groups = []
    for lab in np.unique(label):
        c = np.sort(nodes[label == lab])
        for g in C._split_by_window(c, t_sorted, window):
            if len({sources[order[k]] for k in g}) >= 2:
                groups.append([int(order[k]) for k in g])
    return groups


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step(kind: str, n: int, workdir: Path) -> dict:
    from narratrace.detect.coordination import DEFAULT_WINDOW, NEAR_DUPLICATE, Item, near_duplicate_groups

    data = workdir / f"corpus-{n}.npz"
    if kind == "text":
        t0 = time.perf_counter()
        texts, sources, times, planted = generate(n)
        gen = time.perf_counter() - t0
        items = [Item(i, s, float(t), txt) for i, (s, t, txt) in enumerate(zip(sources, times, texts))]
        del texts
        t0 = time.perf_counter()
        from narratrace.detect.coordination import signatures

        sigs = signatures(items)
        t_sig = time.perf_counter() - t0
        for it, s in zip(items, sigs):
            it.text, it.signature = None, s
        t1 = time.perf_counter()
        res = near_duplicate_groups(items)
        t_lsh = time.perf_counter() - t1
        np.savez(data, sig=np.stack(sigs), times=times, sources=np.array(sources),
                 planted=json.dumps(planted))
        found = [[m.doc_id for m in g.documents] for g in res]
        return {"generate_s": gen, "signatures_s": t_sig, "groups_s": t_lsh, "seconds": t_sig + t_lsh,
                "rss_mb": _rss_mb(), **pair_scores(found, planted)}
    z = np.load(data)
    sig, times, sources = z["sig"], z["times"], z["sources"].tolist()
    planted = json.loads(str(z["planted"]))
    base = _rss_mb()
    if kind == "signatures":
        items = [Item(i, s, float(t), None, sig[i]) for i, (s, t) in enumerate(zip(sources, times))]
        t0 = time.perf_counter()
        res = near_duplicate_groups(items)
        secs = time.perf_counter() - t0
        found = [[m.doc_id for m in g.documents] for g in res]
    else:
        t0 = time.perf_counter()
        found = all_pairs_groups(sig, times, sources, NEAR_DUPLICATE, DEFAULT_WINDOW)
        secs = time.perf_counter() - t0
    return {"seconds": secs, "rss_mb": _rss_mb(), "rss_loaded_mb": base, **pair_scores(found, planted)}


def run_sub(kind: str, n: int, workdir: Path, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--step", kind, "--n", str(n), "--workdir", str(workdir)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    except subprocess.CalledProcessError as exc:
        return {"error": exc.stderr[-2000:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="coordination benchmark")
    ap.add_argument("--sizes", default="10000")
    ap.add_argument("--baseline-max", type=int, default=30000, help="largest size for the all-pairs baseline")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--step")
    ap.add_argument("--n", type=int)
    ap.add_argument("--workdir")
    args = ap.parse_args(argv)
    if args.step:
        print(json.dumps(step(args.step, args.n, Path(args.workdir))))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(s) for s in args.sizes.split(",")]:
            r = {"n": n, "text": run_sub("text", n, Path(tmp), args.timeout)}
            r["signatures"] = run_sub("signatures", n, Path(tmp), args.timeout)
            if n <= args.baseline_max:
                r["all-pairs"] = run_sub("all-pairs", n, Path(tmp), args.timeout)
            rows.append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)
    print(f"{'docs':>9} {'step':<11} {'seconds':>9} {'docs/s':>9} {'peak RSS':>9} {'recall':>7} {'precision':>9} "
          f"{'exact groups':>13} {'vs all-pairs':>12}")
    for r in rows:
        base = r.get("all-pairs", {}).get("seconds")
        for kind in ("all-pairs", "text", "signatures"):
            m = r.get(kind)
            if not m:
                continue
            if "seconds" not in m:
                print(f"{r['n']:>9,} {kind:<11} {m}")
                continue
            ratio = f"{base / m['seconds']:.1f}x faster" if base and kind != "all-pairs" else ""
            print(f"{r['n']:>9,} {kind:<11} {m['seconds']:>9.1f} {r['n'] / m['seconds']:>9,.0f} {m['rss_mb']:>7,.0f}MB "
                  f"{m['recall']:>7.3f} {m['precision']:>9.3f} {m['groups_exact']:>6}/{m['groups_planted']:<6} {ratio:>12}")
            if kind == "text":
                print(f"{'':>9} {'':<11} (generate {m['generate_s']:.1f} s, signatures {m['signatures_s']:.1f} s, "
                      f"groups {m['groups_s']:.1f} s)")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
