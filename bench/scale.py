"""How narratrace's stages grow with corpus size: SQLite vs PostgreSQL, local vs Ray runner.

    python bench/scale.py                    # 1k, 10k, 100k and 1M documents (about an hour on 2 cores)
    python bench/scale.py --sizes 2000 10000 # quicker
    python bench/scale.py --embed-docs 250 1000 --no-ray

Corpora are fictional (``bench/serve.py``'s generator: 30 outlets of three made-up actors, 8
sentences per document, quotes, mentions, narrative matches, contradictions and coordination
groups in the demo's proportions), bulk-inserted: the full ingest pipeline runs ~110 documents/s
here (bench/ingest.py), 2.5 hours per million, and is measured there.

Every stage runs in its own subprocess, so its peak RSS (ru_maxrss) is its own. PostgreSQL is a
private server started by this script (``narratrace.store.localpg``, fsync on, default settings
otherwise); its server processes' memory is not in the client's RSS.

Stages, per size N (documents):
- ``load``     bulk-insert the corpus (documents, 8N sentences, quotes, mentions, matches …);
- ``fts``      20 broad (two common words) and 20 narrow (one document) full-text queries,
               20 hits each (FTS5 bm25 / tsvector ts_rank_cd);
- ``migrate``  ``narratrace migrate`` of the SQLite workspace into an empty PostgreSQL database,
               then ``verify`` (every record re-read from both and compared);
- ``vectors``  the ANN index alone, with random unit vectors (one per sentence; only sizes up to
               ``--max-vectors``): insert, then 200 queries k=10 (usearch file / pgvector HNSW).
Model stage, at ``--embed-docs`` sizes (embedding is per sentence, so its rate does not depend on
the store's size; measured at two sizes to show it is linear):
- ``embed``    ``Workspace.index_sentences`` (embed + index) with the local runner and the Ray runner.

The baseline in the same run is each stage at the smallest size: the table prints time ratios
against it beside the size ratio (near-linear growth means the two are close).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


# -- stages (each in a child process) --------------------------------------------------------

def stage_load(store: str, n: int) -> dict:
    import serve as corpus  # bench/serve.py's generator

    t = time.perf_counter()
    corpus.build(store, n)
    secs = time.perf_counter() - t
    return {"seconds": secs, "docs_per_s": n / secs, "rows": n * (corpus.SENTENCES + 3)}


def stage_fts(store: str, n: int) -> dict:
    import serve as corpus

    from narratrace import Workspace

    rng = random.Random(3)
    ws = Workspace(store, create=False)
    ws.search("council")  # open connections, warm the catalogue
    out = {}
    # broad: two of the corpus's 32 words, which nearly every document holds (the worst case:
    # every match is ranked); narrow: a title's document number, which one document holds.
    for kind, make in (("broad", lambda: " ".join(rng.sample(corpus.WORDS, 2))),
                       ("narrow", lambda: f"report {rng.randint(1, n)}")):
        times = []
        for _ in range(20):
            q = make()
            t = time.perf_counter()
            hits = ws.search(q, limit=20)
            times.append(time.perf_counter() - t)
            assert hits, q
        times.sort()
        out[f"{kind}_median_ms"] = 1000 * times[len(times) // 2]
        out[f"{kind}_s"] = sum(times)
    out["seconds"] = out["broad_s"] + out["narrow_s"]
    return out


def stage_migrate(store: str, n: int, dest: str) -> dict:
    from narratrace.store.migrate import copy_store, verify

    t = time.perf_counter()
    rep = copy_store(store, dest)
    copy_s = time.perf_counter() - t
    t = time.perf_counter()
    chk = verify(store, dest)
    verify_s = time.perf_counter() - t
    assert chk.ok, chk.mismatches
    return {"seconds": copy_s + verify_s, "copy_s": copy_s, "verify_s": verify_s, "records": rep.total,
            "records_per_s": rep.total / copy_s}


def stage_vectors(store: str, n: int, n_vec: int) -> dict:
    import numpy as np

    from narratrace.store import db

    rng = np.random.default_rng(0)
    dim = 384
    if store.startswith("postgresql"):
        from narratrace.store.postgres import PgVectorIndex

        engine = db.make_engine(db.store_url(store))
        db.upgrade(engine)
        idx = PgVectorIndex(engine, f"bench-random-{n_vec}", dim)
        idx.clear()
    else:
        from usearch.index import Index

        idx = Index(ndim=dim, metric="cos", dtype="f16")
    t = time.perf_counter()
    for lo in range(0, n_vec, 20_000):
        v = rng.standard_normal((min(20_000, n_vec - lo), dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        idx.add(np.arange(lo, lo + len(v), dtype=np.uint64), v)
    add_s = time.perf_counter() - t
    q = rng.standard_normal((200, dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    t = time.perf_counter()
    idx.search(q[0], 10)  # pgvector builds its HNSW graph on the first search after a load
    add_s += time.perf_counter() - t
    t = time.perf_counter()
    for v in q:
        idx.search(v, 10)
    query_s = time.perf_counter() - t
    if not store.startswith("postgresql") and hasattr(idx, "save"):
        path = Path(store + f".bench-{n_vec}.usearch")
        idx.save(str(path))  # what the workspace does at the end of an update
        path.unlink()
    return {"seconds": add_s, "vectors": n_vec, "add_per_s": n_vec / add_s, "query_ms": 1000 * query_s / len(q)}


def stage_embed(store: str, n: int, runner: str) -> dict:
    import serve as corpus

    from narratrace import Workspace

    corpus.build(store, n)
    ws = Workspace(store)
    t = time.perf_counter()
    added = ws.analyze(["embed"], runner=runner)["embed"]["indexed"]
    secs = time.perf_counter() - t
    return {"seconds": secs, "sentences": added, "sentences_per_s": added / secs}


STAGES = {"load": stage_load, "fts": stage_fts, "migrate": stage_migrate, "vectors": stage_vectors,
          "embed": stage_embed}


def child(args) -> None:
    extra = json.loads(args.extra or "{}")
    out = STAGES[args.stage](args.store, args.n, **extra)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out), flush=True)


# -- orchestration ---------------------------------------------------------------------------

def run_stage(stage: str, store: str, n: int, **extra) -> dict:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, __file__, "--child", stage, "--store", store, "--n", str(n), "--extra", json.dumps(extra)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    line = next((x for x in res.stdout.splitlines() if x.startswith("RESULT ")), None)
    if res.returncode != 0 or line is None:
        tail = (res.stderr or res.stdout).strip().splitlines()[-5:]
        return {"error": " | ".join(tail)}
    return json.loads(line[7:])


def fmt(r: dict, key: str, unit: str = "") -> str:
    if "error" in r:
        return "failed"
    v = r.get(key)
    if v is None:
        return ""
    return f"{v:,.0f}{unit}" if v >= 100 else f"{v:.2f}{unit}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--embed-docs", type=int, nargs="+", default=[100, 400],
                    help="documents for the embedding stage (at least 50: the generator's coordination groups)")
    ap.add_argument("--max-vectors", type=int, default=800_000,
                    help="the vector stage runs only for sizes whose 8 vectors per document fit under this "
                         "(pgvector loads then builds its graph at ~1.5k vectors/s on 2 cores: 800k is ~10 min)")
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--stages", nargs="+", default=list(STAGES))
    ap.add_argument("--child")
    ap.add_argument("--store")
    ap.add_argument("--n", type=int)
    ap.add_argument("--extra")
    args = ap.parse_args(argv)
    if args.child:
        args.stage = args.child
        child(args)
        return 0

    from narratrace.store.localpg import LocalPostgres

    tmp = Path(tempfile.mkdtemp(prefix="narratrace-scale-"))
    print(f"bench/scale.py — {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}; work dir {tmp}")
    results: list[tuple[str, str, int, dict]] = []

    def record(stage, backend, n, r):
        results.append((stage, backend, n, r))
        print(f"  {stage:8} {backend:10} {n:>9,}  " + json.dumps({k: round(v, 3) if isinstance(v, float) else v
                                                                   for k, v in r.items()}), flush=True)

    with LocalPostgres(fsync=True) as pg:
        for n in args.sizes:
            lite = str(tmp / f"scale-{n}.db")
            pg_load = pg.create_database(f"load_{n}")
            if "load" in args.stages:
                record("load", "sqlite", n, run_stage("load", lite, n))
                record("load", "postgresql", n, run_stage("load", pg_load, n))
            if "fts" in args.stages:
                record("fts", "sqlite", n, run_stage("fts", lite, n))
                record("fts", "postgresql", n, run_stage("fts", pg_load, n))
            pg.drop_database(f"load_{n}")
            if "migrate" in args.stages:
                dest = pg.create_database(f"mig_{n}")
                record("migrate", "sqlite→pg", n, run_stage("migrate", lite, n, dest=dest))
                pg.drop_database(f"mig_{n}")
            for f in tmp.glob(f"scale-{n}.db*"):
                f.unlink()
            if "vectors" in args.stages and 8 * n <= args.max_vectors:
                n_vec = 8 * n
                record("vectors", "usearch", n, run_stage("vectors", str(tmp / "v.db"), n, n_vec=n_vec))
                vdb = pg.create_database(f"vec_{n}")
                record("vectors", "pgvector", n, run_stage("vectors", vdb, n, n_vec=n_vec))
                pg.drop_database(f"vec_{n}")
        if "embed" in args.stages:
            runners = ["local"] + ([] if args.no_ray else ["ray"])
            for n in args.embed_docs:
                for runner in runners:
                    record("embed", f"sqlite/{runner}", n, run_stage("embed", str(tmp / f"e-{n}-{runner}.db"), n,
                                                                  runner=runner))
                    edb = pg.create_database(f"embed_{n}_{runner}")
                    record("embed", f"pg/{runner}", n, run_stage("embed", edb, n, runner=runner))
                    pg.drop_database(f"embed_{n}_{runner}")

    print("\n| stage | backend | documents | seconds | rate | peak RSS MB | time ÷ smallest | size ÷ smallest |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    rate_key = {"load": ("docs_per_s", " docs/s"), "fts": ("broad_median_ms", " ms median (broad)"),
                "migrate": ("records_per_s", " rec/s"), "vectors": ("add_per_s", " vec/s"),
                "embed": ("sentences_per_s", " sent/s")}
    base: dict[tuple[str, str], tuple[int, float]] = {}
    for stage, backend, n, r in results:
        key, unit = rate_key[stage]
        ratio = size = ""
        if "error" not in r:
            b = base.setdefault((stage, backend), (n, r["seconds"]))
            if b[0] != n:
                ratio, size = f"{r['seconds'] / b[1]:.1f}×", f"{n / b[0]:.0f}×"
        print(f"| {stage} | {backend} | {n:,} | {fmt(r, 'seconds')} | {fmt(r, key, unit)} | "
              f"{fmt(r, 'peak_rss_mb')} | {ratio} | {size} |")
    for stage, backend, n, r in results:
        if "error" in r:
            print(f"FAILED {stage} {backend} {n}: {r['error']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
