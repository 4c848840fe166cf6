"""NLI evaluation on published data, never trained or tuned on.

    python -m narratrace.evaluation.nli --eval-dir ../shared/eval [--model PATH] [--json OUT]

Gate sets (floors in quality/floors.toml): FarsTail Test (Persian; published mBERT 0.834, ESIM
0.712) and the SNLI subset in ``nli-en/`` (SNLI *dev* pairs, held out of training). Report-only
sets: ParsiNLU entailment test and the SICK test sample (``tests-only/``; ParsiNLU mT5-large
0.713, SICK SemEval-2014 best 0.846), and the negation/monotonicity benchmarks of ``nli-train/``
that the training mix leaves out. The data lives beside the project in ``../shared/eval``; it is
read here, never copied into the repository.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from narratrace.match.nli import LABELS, load_nli

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


def load_jsonl(path: str | Path, fields: tuple[str, str, str] = ("premise", "hypothesis", "label")) -> list[Pair]:
    """One pair per JSON line, read from ``fields`` (nli-train and tests-only use premise /
    hypothesis / label); rows whose label is not one of LABELS are dropped."""
    p, h, lab = fields
    out: list[Pair] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                if d.get(lab) in LABELS:
                    out.append((d[p], d[h], d[lab]))
    return out


def load_snli(path: str | Path) -> list[Pair]:
    """An SNLI jsonl file (sentence1, sentence2, gold_label); pairs without agreement ('-') dropped."""
    return load_jsonl(path, ("sentence1", "sentence2", "gold_label"))


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


# report-only sets: name -> path under eval_dir (skipped when absent)
REPORT_SETS = {
    "parsinlu_test": "tests-only/parsinlu_test.jsonl",
    "sick_test": "tests-only/sick_test2000.jsonl",
    "negation_snli": "nli-train/negation-nli-hossain2020/benchmark_snli.jsonl",
    "negation_mnli": "nli-train/negation-nli-hossain2020/benchmark_mnli.jsonl",
    "nan_nli": "nli-train/nan-nli/benchmark.jsonl",
    "breaking_nli": "nli-train/breaking-nli/benchmark.jsonl",
}


# Report-only sets above this size are scored on a fixed sample (seeded), so a full report runs in
# minutes on a laptop CPU; the sample size is printed with every figure.
REPORT_CAP = 1500


def test_sets(eval_dir: str | Path, report: bool = False) -> dict[str, list[Pair]]:
    eval_dir = Path(eval_dir)
    out = {"fa_test": load_farstail(eval_dir / "nli-fa" / "Test-word.csv"),
           "en_test": load_snli(eval_dir / "nli-en" / "snli_1.0_test.jsonl")}
    if report:
        for name, rel in REPORT_SETS.items():
            if (eval_dir / rel).is_file():
                pairs = load_jsonl(eval_dir / rel)
                if len(pairs) > REPORT_CAP:
                    keep = np.random.default_rng(0).choice(len(pairs), REPORT_CAP, replace=False)
                    pairs = [pairs[i] for i in sorted(keep)]
                out[name] = pairs
    return out


def evaluate(model, eval_dir: str | Path,
             vectors: Callable[[list[str]], np.ndarray] | None = None, report: bool = False, log=None) -> dict:
    """Accuracy of ``model`` on FarsTail Test and the SNLI test subset (and, with ``report``,
    the report-only sets), each with per-class figures and the confusion matrix.

    ``eval_dir`` is the folder holding ``nli-fa/`` and ``nli-en/`` (``../shared/eval``).
    """
    result: dict = {"model": getattr(model, "model_id", "?")}
    for name, pairs in test_sets(eval_dir, report).items():
        if log:
            log(f"scoring {name} ({len(pairs)} pairs)")
        probs = model.predict([p for p, _, _ in pairs], [h for _, h, _ in pairs], vectors=vectors)
        result[name] = score(probs, [lab for _, _, lab in pairs])
        result[f"{name}_accuracy"] = result[name]["accuracy"]
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Score an NLI model on the held-out test sets.", epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-dir", default="../shared/eval")
    ap.add_argument("--model", default=None, help="weights file (default: the shipped model)")
    ap.add_argument("--json", default=None, help="write every figure here")
    a = ap.parse_args(argv)
    if not (Path(a.eval_dir) / "nli-fa").is_dir():
        print(f"no test data under {a.eval_dir} (give --eval-dir)", file=sys.stderr)
        return 1
    res = evaluate(load_nli(a.model), a.eval_dir, report=True, log=lambda m: print(m, file=sys.stderr, flush=True))
    for name, r in res.items():
        if isinstance(r, dict):
            per = " ".join(f"{k[:6]} P{v['precision']:.2f}/R{v['recall']:.2f}" for k, v in r["per_class"].items())
            print(f"{name:14s} n={r['n']:5d} acc={r['accuracy']:.4f}  {per}")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
