"""Ingest throughput and peak memory on a generated fictional corpus.

    python bench/ingest.py --docs 10000

Measures, each in its own subprocess (so peak RSS is that step's own):
  baseline     trafilatura.extract() on every page, nothing else
  narratrace   the whole ingest: decode, extract, clean, learned boilerplate, dedup (exact +
               MinHash LSH), sentence segmentation, language ID, SQLite + FTS5 index
and prints documents/second, peak RSS and the ratio to the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, corpus, db = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
pages = sorted(p for p in corpus.rglob("*.html"))
t0 = time.perf_counter()
if mode == "baseline":
    import trafilatura
    chars = 0
    for p in pages:
        chars += len(trafilatura.extract(p.read_bytes()) or "")
    extra = {"chars": chars}
else:
    from narratrace import Workspace
    ws = Workspace(db, create=True)
    ws.import_sources(corpus / "sources.yaml")
    r = ws.ingest([str(corpus)])
    extra = {"added": r.added, "near_duplicates": r.near_duplicates, "exact_duplicates": r.exact_duplicates,
             "sentences": ws.stats()["sentences"]}
secs = time.perf_counter() - t0
print(json.dumps({"mode": mode, "docs": len(pages), "seconds": secs,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}))
"""


def measure(mode: str, corpus: Path, db: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(corpus), str(db)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    from narratrace.demo.synthetic import generate_corpus

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        t0 = time.perf_counter()
        generate_corpus(corpus, args.docs, seed=args.seed)
        print(f"generated {args.docs} pages in {time.perf_counter() - t0:.1f} s", flush=True)
        base = measure("baseline", corpus, Path(tmp) / "unused.db")
        ours = measure("narratrace", corpus, Path(tmp) / "bench.db")
        db_mb = (Path(tmp) / "bench.db").stat().st_size / 2**20
    print(f"machine: {platform.machine()} {platform.processor() or ''}, python {platform.python_version()}")
    for r in (base, ours):
        print(f"{r['mode']:<11} {r['docs']:>6} docs  {r['seconds']:8.1f} s  {r['docs'] / r['seconds']:7.1f} docs/s  "
              f"peak RSS {r['peak_rss_mb']:7.1f} MB")
    print(f"narratrace extra: {json.dumps({k: v for k, v in ours.items() if k not in base})}; store {db_mb:.1f} MB")
    print(f"ratio narratrace/trafilatura time: {ours['seconds'] / base['seconds']:.2f}x")


if __name__ == "__main__":
    main()
