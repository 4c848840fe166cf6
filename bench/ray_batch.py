"""Texts per embedding batch for the runners (match/batches.py EMBED_BATCH): sentences/s of one worker
at 16/32/64/128/256 texts per task call, on the demo corpus's sentences.

One worker is what each Ray actor runs (the same TaskCall, in-process here), so the best size per
worker is the best size for the Ray runner; ``--ray`` also runs each size through the Ray runner
(local instance, ``--cpus`` workers), start-up excluded. Quick: 256 texts per size by default.

    python bench/ray_batch.py            # ~1 min on an idle 2-core machine
    python bench/ray_batch.py --ray --texts 512
"""

from __future__ import annotations

import argparse
import os
import time


def demo_sentences(n: int) -> list[str]:
    """Sentences of the demo corpus, without building a workspace (segmenting the clean texts)."""
    import tempfile

    from narratrace import Workspace
    from narratrace.demo.run import CORPUS, SOURCES
    from narratrace.match.vectors import MIN_CHARS

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(os.path.join(tmp, "bench.db"), create=True)
        ws.import_sources(SOURCES)
        ws.ingest([str(CORPUS)], source_from_folder=True)
        texts = [s.text for s in ws.sentences() if len(s.text) >= MIN_CHARS]
        ws.close()
    texts = list(dict.fromkeys(texts))
    return (texts * (n // max(1, len(texts)) + 1))[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="16,32,64,128,256")
    ap.add_argument("--texts", type=int, default=256)
    ap.add_argument("--ray", action="store_true", help="also time the Ray runner")
    ap.add_argument("--cpus", type=int, default=2)
    args = ap.parse_args()
    from narratrace.match.embed import get_embedder
    from narratrace.match.tasks import EmbedTask
    from narratrace.run import TaskCall

    texts = demo_sentences(args.texts)
    name = get_embedder().name
    call = TaskCall(EmbedTask, {"embedder": name})
    call(0, ("passage", texts[:8]))  # load and warm the model outside the timings
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"{len(texts)} demo sentences, embedder {name}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    for size in sizes:
        t = time.perf_counter()
        for i in range(0, len(texts), size):
            call(i, ("passage", texts[i:i + size]))
        dt = time.perf_counter() - t
        print(f"one worker  batch {size:4d}: {len(texts) / dt:7.1f} sentences/s")
    if args.ray:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        from narratrace.run.ray_runner import RayRunner

        runner = RayRunner(num_cpus=args.cpus)
        runner._ray()
        for size in sizes:
            batches = [("passage", texts[i:i + size]) for i in range(0, len(texts), size)]
            t = time.perf_counter()
            n = sum(len(v) for _, (_, v) in runner.map(EmbedTask, {"embedder": name}, batches))
            dt = time.perf_counter() - t
            print(f"ray x{args.cpus}     batch {size:4d}: {n / dt:7.1f} sentences/s (model loads included)")
        runner.close()


if __name__ == "__main__":
    main()
