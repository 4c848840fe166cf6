"""The match stages of the pipeline: ``embed`` (sentence vectors and the index) and ``match``
(sentences × narratives, with stance). Declarations only: the work is in match/batches.py (batches
through the runner) and match/stance.py."""

from __future__ import annotations

from narratrace.context import Context, stage
from narratrace.errors import InvalidInput
from narratrace.match import device
from narratrace.match.batches import index_sentences
from narratrace.match.stance import match_narratives


def _on_device() -> str:
    """' on cuda:0 (torch, …)' / ' on cpu (numpy …)' for the progress label."""
    try:
        return f" on {device.resolve().describe()}"
    except device.DeviceError:
        return ""  # the embedder raises the clear error itself when it loads


# The cache is keyed by the embedder's model id, so a new model is a fresh cache and index by
# itself; the version is bumped only if what the stage stores for one model changes.
@stage("embed", requires=("sentences",), writes=("sentence_vectors",), version="1", incremental=True)
def embed(ctx: Context) -> dict:
    """Embed every sentence added since the last run (cached by text) and add it to the vector index."""
    with ctx.progress.step(f"embed sentences{_on_device()}") as (on_total, advance):
        return {"indexed": index_sentences(ctx.vectors, ctx.runner, progress=advance, on_total=on_total)}


@stage("match", requires=("sentence_vectors", "narratives", "quotes"), writes=("narrative_match",), version="2")
def match(ctx: Context, *, keys: list[str] | None = None, sensitivity: float | None = None) -> dict:
    """Match sentences to the active narratives: related only when the sentence (or the claim it
    reports) asserts or denies the narrative, with its stance and holder; replaces the stored
    matches of each narrative matched, never the reviews. ``sensitivity`` (0..1) overrides every
    narrative's own setting for this run."""
    if sensitivity is not None and not 0 < sensitivity < 1:
        raise InvalidInput(f"sensitivity must be between 0 and 1 (got {sensitivity}); higher matches more")
    with ctx.progress.step("match narratives") as (on_total, advance):
        return match_narratives(ctx.sessions, ctx.vectors, ctx.nli, ctx.runner, keys=keys, progress=advance,
                                on_total=on_total, sensitivity=sensitivity).as_dict()
