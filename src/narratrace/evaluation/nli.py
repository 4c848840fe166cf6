"""NLI evaluation on published data: FarsTail (Persian) and an SNLI 1.0 subset (English).

The data lives beside the project in ``../shared/eval`` (``nli-fa/`` and ``nli-en/``); it is
read here, never copied into the repository. Published FarsTail test accuracy for comparison:
mBERT 0.834, ESIM 0.712.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from narratrace.match.nli import LABELS

Pair = tuple[str, str, str]  # premise, hypothesis, label (one of LABELS)

_FA_LABELS = {"e": "entailment", "n": "neutral", "c": "contradiction"}


def load_farstail(path: str | Path) -> list[Pair]:
    """A FarsTail ``*-word.csv`` file: tab-separated, header premise / hypothesis / label (e/n/c)."""
    out: list[Pair] = []
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t")
        header = next(rows)
        ip, ih, il = header.index("premise"), header.index("hypothesis"), header.index("label")
        for row in rows:
            label = row[il].strip()
            label = _FA_LABELS.get(label, label)
            if label in LABELS:
                out.append((row[ip], row[ih], label))
    return out


def load_snli(path: str | Path) -> list[Pair]:
    """An SNLI jsonl file (sentence1, sentence2, gold_label); pairs without agreement ('-') dropped."""
    out: list[Pair] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                if d.get("gold_label") in LABELS:
                    out.append((d["sentence1"], d["sentence2"], d["gold_label"]))
    return out


def score(probs: np.ndarray, gold: list[str]) -> dict:
    """Accuracy, per-class precision / recall / F1 and the confusion matrix (rows gold, cols predicted)."""
    y = np.array([LABELS.index(g) for g in gold], int)
    pred = np.argmax(probs, axis=1) if len(gold) else np.zeros(0, int)
    k = len(LABELS)
    cm = np.zeros((k, k), int)
    np.add.at(cm, (y, pred), 1)
    per = {}
    for i, lab in enumerate(LABELS):
        tp = cm[i, i]
        p = tp / cm[:, i].sum() if cm[:, i].sum() else 0.0
        r = tp / cm[i, :].sum() if cm[i, :].sum() else 0.0
        per[lab] = {"precision": round(float(p), 4), "recall": round(float(r), 4),
                    "f1": round(float(2 * p * r / (p + r)) if p + r else 0.0, 4), "support": int(cm[i, :].sum())}
    acc = float(np.trace(cm) / cm.sum()) if cm.sum() else 0.0
    return {"n": int(cm.sum()), "accuracy": round(acc, 4), "per_class": per, "confusion": cm.tolist()}


def test_sets(eval_dir: str | Path) -> dict[str, list[Pair]]:
    eval_dir = Path(eval_dir)
    return {"fa_test": load_farstail(eval_dir / "nli-fa" / "Test-word.csv"),
            "en_test": load_snli(eval_dir / "nli-en" / "snli_1.0_test.jsonl")}


def evaluate(model, eval_dir: str | Path,
             vectors: Callable[[list[str]], np.ndarray] | None = None) -> dict:
    """Accuracy of ``model`` (an NLIModel) on FarsTail Test and the SNLI test subset.

    ``eval_dir`` is the folder holding ``nli-fa/`` and ``nli-en/`` (``../shared/eval``).
    """
    result: dict = {"model": getattr(model, "model_id", "?")}
    for name, pairs in test_sets(eval_dir).items():
        probs = model.predict([p for p, _, _ in pairs], [h for _, h, _ in pairs], vectors=vectors)
        result[name] = score(probs, [lab for _, _, lab in pairs])
        result[f"{name}_accuracy"] = result[name]["accuracy"]
    return result
