"""Driver side of the model stages: plan the batches, hand them to a runner (``narratrace.run``),
write what comes back.

Why the driver writes and the workers do not: a worker then needs narratrace and its models but
no access to the store, so a SQLite workspace can use a whole Ray cluster and no two processes
ever write to one SQLite file. The writes are small (768 bytes per vector) next to the model
work, so one writer is not the bottleneck below hundreds of worker CPUs.

Resumability: each batch's rows are committed as soon as the batch returns. A stage always starts
by listing what is missing from the store, so a rerun after a dead worker, a killed driver or a
lost cluster computes only the batches that never committed.

Determinism: the batches are cut on the driver in a fixed order (sentence id, then first
occurrence), so the local and Ray runners feed the model the same inputs and store the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from sqlalchemy import insert

from narratrace.match.embed import Kind, text_key
from narratrace.match.nli import DEFAULT_PATH
from narratrace.match.tasks import EmbedTask, NLITask
from narratrace.match.vectors import VectorStore, cached_keys, missing_sentence_texts
from narratrace.run import Runner, RunnerError, get_runner
from narratrace.store.models import Embedding

# Texts per embedding batch (one task call; e5-small cuts it into forward passes of 64 itself).
# Measured with bench/ray_batch.py on the 2-core CI machine under load, 2026-11-23: one worker
# does 45-49 sentences/s at every size from 16 to 256, so the size only sets the commit and
# load-balancing granularity; through Ray (2 workers, 256 texts) 64 was best: 28 sentences/s
# against 24-25 at 16/32 and 19/8 at 128/256 (too few batches for two workers).
EMBED_BATCH = 64
# Batches handed to the runner at once; on Ray each window is one Ray Data job, whose workers start
# and load their model once (~5-7 s a job in bench/ray_batch.py's Ray timings on the CI machine).
# 1,024 embedding batches (~65k texts) keep that under ~10 % of a job for up to ~16 workers at
# ~45 texts/s each (65k / 16 / 45 ≈ 90 s), while bounding the driver's memory. NLI batches come
# from the callers (one narrative's pairs in matching, NLI_CHUNK pairs in contradictions) and are
# cut into tasks of at most NLI_TASK_PAIRS pairs: one narrative can bring thousands of pairs and
# another a handful, and equal tasks keep every worker busy (at ~15-30 pairs/s per core a task
# is 8-17 s of work, small next to a worker's one-time model load of ~5 s). A window holds 32
# tasks (texts only, a few MB).
EMBED_WINDOW = 1024
NLI_WINDOW = 32
NLI_TASK_PAIRS = 256

Progress = Callable[[int], None]


def _windows(n: int, size: int) -> Iterable[range]:
    for lo in range(0, n, size):
        yield range(lo, min(n, lo + size))


def embed_items(vs: VectorStore, items: Sequence[tuple[bytes, str]], kind: Kind, runner: Runner | str | None = None,
                *, progress: Progress | None = None, on_total: Progress | None = None,
                batch: int | None = None) -> int:
    """Embed (cache key, text) items that are missing from the cache and store their vectors.
    Returns how many were embedded (computed in this call)."""
    runner = get_runner(runner)
    if on_total:
        on_total(len(items))
    if not items:
        return 0
    size = batch or EMBED_BATCH
    model = vs.embedder.model_id
    batches = [items[i:i + size] for i in range(0, len(items), size)]
    done = 0
    for win in _windows(len(batches), EMBED_WINDOW):
        payload = [(kind, [t for _, t in batches[i]]) for i in win]
        for j, (model_id, vecs) in runner.map(EmbedTask, {"embedder": vs.embedder.name}, payload):
            if model_id != model:  # a node with another model version would poison the cache
                raise RunnerError(f"a worker embedded with '{model_id}', the driver uses '{model}': install the "
                                  "same narratrace and model packages on every node")
            b = batches[win[j]]
            rows = [{"model": model, "key": k, "vector": v.tobytes()} for (k, _), v in zip(b, vecs)]
            with vs.sessions.begin() as s:  # committed: a rerun never recomputes this batch
                s.execute(insert(Embedding.__table__), rows)
            done += len(rows)
            if progress:
                progress(len(rows))
    return done


def cache_texts(vs: VectorStore, texts: Iterable[str], kind: Kind, runner: Runner | str | None = None,
                **kw) -> int:
    """Make sure every text's vector (of this kind) is cached, embedding the missing ones through
    the runner. Afterwards ``vs.embed(texts, kind)`` reads them all from the cache."""
    uniq: dict[bytes, str] = {}
    for t in texts:
        uniq.setdefault(text_key(t, kind), t)
    with vs.sessions() as s:
        have = cached_keys(s, vs.embedder.model_id, list(uniq))
    return embed_items(vs, [(k, t) for k, t in uniq.items() if k not in have], kind, runner, **kw)


def embed_sentences(vs: VectorStore, runner: Runner | str | None = None, **kw) -> int:
    """Stage 1: vectors for every sentence the index does not hold yet and the cache lacks. After it,
    ``vs.update()`` finds them all cached and only indexes."""
    return embed_items(vs, missing_sentence_texts(vs), "passage", runner, **kw)


def index_sentences(vs: VectorStore, runner: Runner | str | None = None, *, progress: Progress | None = None,
                    on_total: Progress | None = None) -> int:
    """Embed through the runner, then index on the driver. Returns how many sentences were indexed."""
    embed_sentences(vs, runner, progress=progress, on_total=on_total)
    return vs.update()


def nli_model_path(nli) -> str | None:
    """What a worker passes to load_nli: None for the shipped head (each node loads its own copy,
    wherever narratrace is installed there), else the file, which must exist on every node."""
    src = getattr(nli, "source", None)
    return None if src is None or src == str(DEFAULT_PATH.resolve()) else src


def nli_batches(vs: VectorStore, nli, batches: Sequence[tuple[list[str], list[str], bool]],
                runner: Runner | str | None = None, progress: Progress | None = None) -> list[list[np.ndarray]]:
    """NLI probabilities for each batch of (premises, hypotheses, both directions?): a list of
    (n, 3) arrays per batch, the reverse direction second. Equal to ``nli.predict(premises,
    hypotheses)``, computed through ``runner``."""
    runner = get_runner(runner)
    config = {"path": nli_model_path(nli), "engine": getattr(nli, "engine", None)}
    tasks = [(b, lo, min(lo + NLI_TASK_PAIRS, len(batches[b][0])))
             for b in range(len(batches)) for lo in range(0, max(1, len(batches[b][0])), NLI_TASK_PAIRS)]
    results: list[list[np.ndarray] | None] = [None] * len(tasks)
    n_tasks = [0] * len(batches)
    for b, _lo, _hi in tasks:
        n_tasks[b] += 1
    left = list(n_tasks)
    for win in _windows(len(tasks), NLI_WINDOW):
        payload = []
        for i in win:
            b, lo, hi = tasks[i]
            prem, hyp, both = batches[b]
            payload.append({"premises": list(prem[lo:hi]), "hypotheses": list(hyp[lo:hi]), "both": both})
        for j, (model_id, probs) in runner.map(NLITask, config, payload):  # in any order
            if model_id != nli.model_id:
                raise RunnerError(f"a worker loaded NLI model '{model_id}', the driver uses '{nli.model_id}'")
            results[win[j]] = probs
            b = tasks[win[j]][0]
            left[b] -= 1
            if progress and left[b] == 0:
                progress(1)  # one step per caller's batch, as before
    out: list[list[np.ndarray]] = []
    at = 0
    for b in range(len(batches)):  # tasks were listed batch by batch, pairs in order
        mine = results[at:at + n_tasks[b]]
        at += n_tasks[b]
        out.append([np.concatenate([r[k] for r in mine]) for k in range(len(mine[0]))])
    return out
