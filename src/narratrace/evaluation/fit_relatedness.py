"""Fit the relatedness calibration (match/relatedness.py) on campaign-dev's hand-made gold.

    python -m narratrace.evaluation.fit_relatedness --eval-dir ../shared/eval \\
        [--out src/narratrace/models/nli/relatedness.json]

Every gold ``sentence`` row's text is read as the matcher reads a stored sentence: its views
(enrich/holder.py), its TOP_NARRATIVES most similar narratives, the closest statements of each
(match/stance.py constants), NLI of every view against them. A (text, narrative) candidate is
positive when the gold gives that narrative for the text; the gold's ``none`` rows and the other
retrieved narratives are the negatives — on-topic sentences that make no claim, which is what the
calibration must reject. The best view per candidate gives the features.

Two logistic models are fitted (related; denies among related), scored by 5-fold
cross-validation grouped by text, and the default sensitivity is the cut with the best
cross-validated F1. campaign-dev is a development set: fitting on it is allowed; the hidden
test is another campaign, hence six generic features and a strong L2 penalty.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

from narratrace.enrich.holder import views
from narratrace.match import relatedness as rel
from narratrace.match.embed import get_embedder
from narratrace.match.nli import load_nli
from narratrace.match.stance import ASSERTIONS_READ, COUNTERS_READ, TOP_NARRATIVES

FOLDS = 5
L2 = 0.3


def candidates(eval_dir: Path, nli, log=print) -> list[dict]:
    root = eval_dir / "campaign-dev"
    narratives = yaml.safe_load((root / "narratives.yaml").read_text(encoding="utf-8"))["narratives"]
    langs = {}
    for line in (root / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            langs[Path(d["file"]).name] = d["language"]
    with open(root / "gold.tsv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if r["kind"] == "sentence"]
    gold: dict[str, dict] = defaultdict(dict)
    lang_of = {}
    for r in rows:
        lang_of[r["text"]] = langs.get(Path(r["file"]).name, "en")
        gold[r["text"]]  # a none row is a text with no narrative
        if r["narrative"] != "none":
            gold[r["text"]][r["narrative"]] = r["stance"]
    texts = sorted(gold)
    emb = get_embedder("e5-small")
    stm = [(n["id"], kind, t) for n in narratives for kind in ("assertions", "counters") for t in n.get(kind) or []]
    S = emb.embed(texts, kind="passage") @ emb.embed([t for *_, t in stm], kind="query").T
    prem, hyp, lay = [], [], []
    for i, text in enumerate(texts):
        per = {}
        for n in narratives:
            a = [j for j, (k, kind, _) in enumerate(stm) if k == n["id"] and kind == "assertions"]
            c = [j for j, (k, kind, _) in enumerate(stm) if k == n["id"] and kind == "counters"]
            sa, sc = S[i, a], (S[i, c] if c else None)
            per[n["id"]] = (max(sa.max(), sc.max() if sc is not None else -1), float(sa.max()),
                            None if sc is None else float(sc.max()),
                            [a[x] for x in np.argsort(-sa)[:ASSERTIONS_READ]],
                            [c[x] for x in np.argsort(-sc)[:COUNTERS_READ]] if sc is not None else [])
        vs = views(text, lang_of[text])
        for nid in sorted(per, key=lambda k: -per[k][0])[:TOP_NARRATIVES]:
            _sim, sa, sc, ai, ci = per[nid]
            for v in vs:
                for j in ai + ci:
                    prem.append(text[v.start:v.end])
                    hyp.append(stm[j][2])
                lay.append((i, nid, v.kind, sa, sc, len(ai), len(ci)))
    log(f"{len(texts)} gold texts, {len(lay)} views × narratives, {len(prem)} NLI pairs")
    P = nli.predict(prem, hyp)
    out, at = {}, 0
    for i, nid, kind, sa, sc, na, nc in lay:
        block = P[at:at + na + nc]
        at += na + nc
        f = rel.features(sa, sc, float(block[:na, 0].max()), float(block[:na, 2].max()),
                         float(block[na:, 0].max()) if nc else None)
        key = (i, nid)
        out.setdefault(key, {"group": i, "narrative": nid, "lang": lang_of[texts[i]],
                             "gold": gold[texts[i]].get(nid), "views": []})["views"].append((kind, f))
    return list(out.values())


def _folds(groups: np.ndarray) -> np.ndarray:
    return np.array([g % FOLDS for g in groups])


def crossval(X, y, groups) -> np.ndarray:
    p = np.zeros(len(y))
    fold = _folds(groups)
    for k in range(FOLDS):
        tr, te = fold != k, fold == k
        w, b = rel.fit_logistic(X[tr], y[tr], L2)
        p[te] = 1 / (1 + np.exp(-(X[te] @ np.array(w) + b)))
    return p


def fit(cands: list[dict], nli_model: str, log=print) -> dict:
    # the best view per candidate by the uncalibrated rule (what the matcher falls back to)
    best = [max(c["views"], key=lambda v: max(v[1][3], v[1][4], v[1][5]))[1] for c in cands]
    X = np.array(best)
    y = np.array([c["gold"] is not None for c in cands], float)
    g = np.array([c["group"] for c in cands])
    p = crossval(X, y, g)
    sweep = []
    for sens in [round(0.05 * k, 2) for k in range(2, 19)]:
        keep = p >= 1 - sens
        tp = float((keep & (y == 1)).sum())
        prec = tp / keep.sum() if keep.sum() else 0.0
        recall = tp / y.sum()
        sweep.append({"sensitivity": sens, "precision": round(prec, 4), "recall": round(recall, 4),
                      "f1": round(2 * prec * recall / (prec + recall), 4) if prec + recall else 0.0})
    chosen = max(sweep, key=lambda r: r["f1"])
    w, b = rel.fit_logistic(X, y, L2)
    pos = y == 1
    ys = np.array([c["gold"] == "denies" for c in cands], float)[pos]
    Xs, gs = X[pos], g[pos]
    ps = crossval(Xs, ys, gs)
    ws, bs = rel.fit_logistic(Xs, ys, L2)
    stance_cv = {"accuracy": round(float(((ps >= 0.5) == ys).mean()), 4),
                 "denies_recall": round(float(((ps >= 0.5) & (ys == 1)).sum() / max(ys.sum(), 1)), 4),
                 "denies_precision": round(float(((ps >= 0.5) & (ys == 1)).sum() / max((ps >= 0.5).sum(), 1)), 4),
                 "always_asserts": round(float(1 - ys.mean()), 4), "n": int(len(ys))}
    log(f"relatedness CV sweep: {json.dumps(sweep)}")
    log(f"chosen sensitivity {chosen}; stance CV {stance_cv}")
    return {"nli_model": nli_model, "features": list(rel.FEATURES), "related": {"w": w, "b": b},
            "stance": {"w": ws, "b": bs}, "sensitivity": chosen["sensitivity"],
            "fitted_on": "campaign-dev gold sentence rows (../shared/eval/campaign-dev/gold.tsv)",
            "candidates": len(cands), "positives": int(y.sum()), "cv": {"related": sweep, "chosen": chosen,
                                                                          "stance": stance_cv}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Fit the relatedness calibration on campaign-dev.", epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-dir", default="../shared/eval")
    ap.add_argument("--out", default=str(rel.PATH))
    ap.add_argument("--model", default=None, help="NLI weights (default: the shipped model)")
    a = ap.parse_args(argv)
    eval_dir = Path(a.eval_dir)
    if not (eval_dir / "campaign-dev" / "gold.tsv").is_file():
        print(f"campaign-dev not found under {eval_dir} (give --eval-dir)", file=sys.stderr)
        return 1
    nli = load_nli(a.model)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    spec = fit(candidates(eval_dir, nli, log), nli.model_id, log)
    Path(a.out).write_text(json.dumps(spec, indent=1), encoding="utf-8")
    print(f"wrote {a.out}: sensitivity {spec['sensitivity']}, CV {spec['cv']['chosen']}, stance {spec['cv']['stance']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
