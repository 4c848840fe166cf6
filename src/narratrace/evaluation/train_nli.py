"""Train the NLI head (``narratrace.match.nli``) on the CPU with plain numpy.

    python -m narratrace.evaluation.train_nli --eval-dir ../shared/eval \\
        --out src/narratrace/models/nli/e5-head-v1.npz

Data: FarsTail Train (Persian) + the SNLI dev subset (English); hyper-parameters and the
epoch count are chosen on FarsTail Val plus a held-out slice of SNLI dev, then the head is
refitted on train + that slice for the chosen number of epochs. Test sets are only scored.
``extra_pairs`` (premise, hypothesis, label) are appended to the training data (e.g. analyst
reviews) and ``init_from`` fine-tunes an existing head (keeping its feature standardisation).

Embeddings come from the frozen multilingual-e5-small; give ``cache_dir`` to keep them in
``.npy`` files between runs (the embedding is most of the training time).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from narratrace.evaluation.nli import load_farstail, load_snli, score
from narratrace.match.embed import get_embedder
from narratrace.match.nli import FEATURE_VERSION, LABELS, NLIModel, pair_features, read_weights

Pair = tuple[str, str, str]


class VectorCache:
    """text -> vector, embedding only the texts not seen before; optionally kept on disk."""

    def __init__(self, embedder: str = "e5-small", kind: str = "query", cache_dir: str | Path | None = None,
                 log: Callable[[str], None] = print) -> None:
        self.embedder, self.kind, self.log = embedder, kind, log
        self.files = None
        self.rows: dict[str, int] = {}
        self.V = np.zeros((0, 384), np.float32)
        if cache_dir is not None:
            d = Path(cache_dir)
            d.mkdir(parents=True, exist_ok=True)
            self.files = (d / f"{embedder}-{kind}.npy", d / f"{embedder}-{kind}.texts.json")
            if self.files[0].exists() and self.files[1].exists():
                texts = json.loads(self.files[1].read_text(encoding="utf-8"))
                V = np.load(self.files[0])
                if len(texts) == len(V):
                    self.V = V.astype(np.float32)
                    self.rows = {t: i for i, t in enumerate(texts)}
                    log(f"embedding cache: {len(texts)} vectors from {self.files[0]}")

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.rows))
        if missing:
            emb = get_embedder(self.embedder)
            t0, out = time.time(), []
            for i in range(0, len(missing), 256):
                out.append(emb.embed(missing[i:i + 256], kind=self.kind))
                self.log(f"  embedded {min(i + 256, len(missing))}/{len(missing)} "
                         f"({time.time() - t0:.0f}s)")
            base = len(self.V)
            self.V = np.vstack([self.V] + out).astype(np.float32)
            for j, t in enumerate(missing):
                self.rows[t] = base + j
            if self.files:
                np.save(self.files[0], self.V)
                texts_in_order = sorted(self.rows, key=self.rows.__getitem__)
                self.files[1].write_text(json.dumps(texts_in_order, ensure_ascii=False), encoding="utf-8")
        return self.V[[self.rows[t] for t in texts]] if texts else np.zeros((0, self.V.shape[1]), np.float32)


def features_for(pairs: Sequence[Pair], vectors: Callable[[list[str]], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    prem = [p for p, _, _ in pairs]
    hyp = [h for _, h, _ in pairs]
    uniq = list(dict.fromkeys(prem + hyp))
    V = vectors(uniq)
    row = {t: i for i, t in enumerate(uniq)}
    X = pair_features(V[[row[t] for t in prem]], V[[row[t] for t in hyp]], prem, hyp)
    y = np.array([LABELS.index(lab) for _, _, lab in pairs], np.int64)
    return X, y


# ---------------------------------------------------------------------------- the MLP

def _forward(params, Z, rng=None, dropout=0.0, in_dropout=0.0):
    if rng is not None and in_dropout > 0:
        Z = Z * (rng.random(Z.shape, dtype=np.float32) >= in_dropout) / (1 - in_dropout)
    a = Z @ params["W1"] + params["b1"]
    h = np.maximum(a, 0.0)
    mask = None
    if rng is not None and dropout > 0:
        mask = (rng.random(h.shape, dtype=np.float32) >= dropout) / (1 - dropout)
        h = h * mask
    logits = h @ params["W2"] + params["b2"]
    return Z, a, h, mask, logits


def _fit(params, Z, y, *, epochs, lr, weight_decay, batch, dropout, in_dropout, rng, label_smoothing=0.0,
         on_epoch=None):
    """Adam over mini-batches, softmax cross-entropy with decoupled weight decay."""
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(w) for k, w in params.items()}
    b1, b2, eps, t = 0.9, 0.999, 1e-8, 0
    n, k = len(y), len(LABELS)
    Y = np.full((n, k), label_smoothing / k, np.float32)
    Y[np.arange(n), y] += 1.0 - label_smoothing
    for ep in range(1, epochs + 1):
        order = rng.permutation(n)
        total = 0.0
        for s in range(0, n, batch):
            idx = order[s:s + batch]
            Zb, a, h, mask, logits = _forward(params, Z[idx], rng, dropout, in_dropout)
            logits = logits - logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            total += float(-(Y[idx] * np.log(p + 1e-9)).sum())
            g = (p - Y[idx]) / len(idx)
            grads = {"W2": h.T @ g, "b2": g.sum(0)}
            dh = g @ params["W2"].T
            if mask is not None:
                dh = dh * mask
            da = dh * (a > 0)
            grads["W1"] = Zb.T @ da
            grads["b1"] = da.sum(0)
            t += 1
            for key, gk in grads.items():
                m[key] = b1 * m[key] + (1 - b1) * gk
                v[key] = b2 * v[key] + (1 - b2) * gk * gk
                mh = m[key] / (1 - b1 ** t)
                vh = v[key] / (1 - b2 ** t)
                params[key] -= lr * (mh / (np.sqrt(vh) + eps) + (weight_decay * params[key] if key[0] == "W" else 0))
        if on_epoch is not None:
            on_epoch(ep, total / n)
    return params


def _accuracy(params, Z, y) -> float:
    if len(y) == 0:
        return float("nan")
    return float((np.argmax(_forward(params, Z)[-1], axis=1) == y).mean())


def _init_params(d, hidden, rng):
    return {"W1": (rng.standard_normal((d, hidden)) * np.sqrt(2.0 / d)).astype(np.float32),
            "b1": np.zeros(hidden, np.float32),
            "W2": (rng.standard_normal((hidden, len(LABELS))) * np.sqrt(1.0 / hidden)).astype(np.float32),
            "b2": np.zeros(len(LABELS), np.float32)}


def train(out_path: str | Path | None, *, fa_dir: str | Path, en_dir: str | Path, seed: int = 0,
          kind: str = "query", embedder: str = "e5-small", hidden: int = 512, dropout: float = 0.5,
          in_dropout: float = 0.2, epochs: int = 30, lr: float = 1e-3, weight_decay: float = 1e-4,
          batch: int = 128, label_smoothing: float = 0.0, en_holdout: int = 200, refit: bool = True,
          swap_contradictions: bool = False,
          extra_pairs: Sequence[Pair] | None = None, init_from: str | Path | None = None,
          cache_dir: str | Path | None = None, vectors: Callable[[list[str]], np.ndarray] | None = None,
          dtype: str = "float16", score_test: bool = True, log: Callable[[str], None] = print) -> dict:
    """Train (or fine-tune) the head, write it to ``out_path`` (unless None) and return metrics.

    ``fa_dir`` holds FarsTail's Train/Val/Test-word.csv, ``en_dir`` the SNLI subset's
    snli_1.0_dev/test.jsonl. Deterministic for a given ``seed`` (and the same embeddings).
    """
    t_start = time.time()
    fa_dir, en_dir = Path(fa_dir), Path(en_dir)
    rng = np.random.default_rng(seed)
    fa_train = load_farstail(fa_dir / "Train-word.csv")
    fa_val = load_farstail(fa_dir / "Val-word.csv")
    en_dev = load_snli(en_dir / "snli_1.0_dev.jsonl")
    # a held-out slice of SNLI dev, split by premise so no premise is on both sides
    premises = sorted({p for p, _, _ in en_dev})
    prng = np.random.default_rng(seed + 1)
    held_prem: set[str] = set()
    for i in prng.permutation(len(premises)):
        if sum(1 for p, _, _ in en_dev if p in held_prem) >= en_holdout:
            break
        held_prem.add(premises[i])
    en_train = [x for x in en_dev if x[0] not in held_prem]
    en_val = [x for x in en_dev if x[0] in held_prem]
    extra = [(p, h, lab) for p, h, lab in (extra_pairs or [])]
    bad = [lab for _, _, lab in extra if lab not in LABELS]
    if bad:
        raise ValueError(f"extra_pairs labels must be one of {LABELS}, got {bad[:3]}")
    log(f"data: FarsTail train {len(fa_train)}, val {len(fa_val)}; SNLI dev train {len(en_train)}, "
        f"held out {len(en_val)}; extra {len(extra)}")

    vectors = vectors or VectorCache(embedder, kind, cache_dir, log=log)
    t0 = time.time()
    X_fa, y_fa = features_for(fa_train, vectors)
    X_en, y_en = features_for(en_train, vectors)
    X_fv, y_fv = features_for(fa_val, vectors)
    X_ev, y_ev = features_for(en_val, vectors) if en_val else (np.zeros((0, X_fa.shape[1]), np.float32), np.zeros(0, int))
    X_x, y_x = features_for(extra, vectors) if extra else (np.zeros((0, X_fa.shape[1]), np.float32), np.zeros(0, int))
    t_embed = time.time() - t0
    log(f"features: {X_fa.shape[1]} per pair ({t_embed:.0f}s)")

    X_tr = np.vstack([X_fa, X_en, X_x])
    y_tr = np.concatenate([y_fa, y_en, y_x])
    if swap_contradictions:  # contradiction is symmetric: (h, p) is one too
        swapped = [(h, p, lab) for p, h, lab in fa_train + en_train + extra if lab == "contradiction"]
        X_s, y_s = features_for(swapped, vectors)
        X_tr, y_tr = np.vstack([X_tr, X_s]), np.concatenate([y_tr, y_s])
        log(f"added {len(swapped)} swapped contradiction pairs")
    if init_from is not None:
        base = read_weights(init_from)
        if base.mean.shape[0] != X_tr.shape[1]:
            raise ValueError(f"{init_from} expects {base.mean.shape[0]} features, this code makes {X_tr.shape[1]}")
        mean, std = base.mean, base.std
        init = {k: getattr(base, k).astype(np.float32).copy() for k in ("W1", "b1", "W2", "b2")}
        hidden = init["W1"].shape[1]
        log(f"fine-tuning {init_from} (hidden {hidden})")
    else:
        mean = X_tr.mean(0).astype(np.float32)
        std = X_tr.std(0).astype(np.float32)
        std[std < 1e-6] = 1.0
        init = None
    norm = lambda X: ((X - mean) / std).astype(np.float32)  # noqa: E731
    Z_tr, Z_fv, Z_ev = norm(X_tr), norm(X_fv), norm(X_ev)

    def fresh(r):
        return {k: v.copy() for k, v in init.items()} if init is not None else _init_params(Z_tr.shape[1], hidden, r)

    # 1. choose the epoch count on the validation sets
    hist: list[tuple[int, float, float, float]] = []
    params = fresh(rng)
    best: dict = {}

    def on_epoch(ep, loss):
        fa, en = _accuracy(params, Z_fv, y_fv), _accuracy(params, Z_ev, y_ev)
        sel = fa if np.isnan(en) else (fa + en) / 2
        hist.append((ep, fa, en, sel))
        if not best or sel > best["sel"]:
            best.update(sel=sel, params={k: v.copy() for k, v in params.items()})
        log(f"epoch {ep:3d} loss {loss:.4f} val fa {fa:.4f} en {en:.4f}")

    opts = dict(lr=lr, weight_decay=weight_decay, batch=batch, dropout=dropout, in_dropout=in_dropout,
                label_smoothing=label_smoothing)
    _fit(params, Z_tr, y_tr, epochs=epochs, rng=rng, on_epoch=on_epoch, **opts)
    best_ep, best_fa, best_en, best_sel = max(hist, key=lambda r: (r[3], -r[0]))
    log(f"best epoch {best_ep}: val fa {best_fa:.4f} en {best_en:.4f}")

    # 2. refit on train + the English held-out slice for that many epochs
    if refit and len(y_ev):
        Z_all = np.vstack([Z_tr, Z_ev])
        y_all = np.concatenate([y_tr, y_ev])
        rng2 = np.random.default_rng(seed + 2)
        params = fresh(rng2)
        _fit(params, Z_all, y_all, epochs=best_ep, rng=rng2, **opts)
        final_fa_val = _accuracy(params, Z_fv, y_fv)
        log(f"refit on train + held-out English ({len(y_all)} pairs, {best_ep} epochs): val fa {final_fa_val:.4f}")
    else:  # keep the best epoch of the first run
        params = best["params"]
    train_s = time.time() - t_start

    meta = {"model_id": f"nli-{embedder}-{kind}-mlp{hidden}-seed{seed}", "embedder": embedder, "kind": kind,
            "feature_version": FEATURE_VERSION, "labels": list(LABELS), "seed": seed, "hidden": hidden,
            "epochs": best_ep, "dropout": dropout, "in_dropout": in_dropout, "lr": lr,
            "weight_decay": weight_decay, "batch": batch, "label_smoothing": label_smoothing,
            "swap_contradictions": swap_contradictions,
            "train_pairs": int(len(y_tr) + (len(y_ev) if refit else 0)), "extra_pairs": len(extra),
            "init_from": str(init_from) if init_from else None,
            "data": "FarsTail Train (Apache-2.0) + SNLI 1.0 dev subset (CC BY-SA 4.0)"}
    model = NLIModel({**params, "mean": mean, "std": std}, meta)
    if dtype == "float16":  # what is shipped is what is scored
        model = NLIModel({k: getattr(model, k).astype(np.float16) for k in ("W1", "b1", "W2", "b2")}
                         | {"mean": mean, "std": std}, meta)
    metrics: dict = {"model_id": meta["model_id"], "best_epoch": best_ep, "val_fa_accuracy": round(best_fa, 4),
                     "val_en_accuracy": round(best_en, 4), "train_seconds": round(train_s, 1),
                     "embed_seconds": round(t_embed, 1), "history": hist}
    if out_path is not None:
        path = model.save(out_path, dtype=np.float16 if dtype == "float16" else np.float32)
        metrics["path"] = str(path)
        metrics["bytes"] = path.stat().st_size
        log(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    if score_test:  # reported only; never used for any choice above
        tests = {"fa_test": load_farstail(fa_dir / "Test-word.csv"),
                 "en_test": load_snli(en_dir / "snli_1.0_test.jsonl")}
        for name, pairs in tests.items():
            X, y = features_for(pairs, vectors)
            s = score(_probs(model, X), [LABELS[i] for i in y])
            metrics[name] = s
            metrics[f"{name}_accuracy"] = s["accuracy"]
            log(f"{name}: accuracy {s['accuracy']:.4f} (n={s['n']})")
    metrics["model"] = model
    return metrics


def _probs(model: NLIModel, X: np.ndarray) -> np.ndarray:
    z = model.logits(X)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m narratrace.evaluation.train_nli", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-dir", default="../shared/eval", help="folder holding nli-fa/ and nli-en/")
    ap.add_argument("--out", default="src/narratrace/models/nli/e5-head-v1.npz")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kind", choices=("query", "passage"), default="query")
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--in-dropout", type=float, default=0.2)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--label-smoothing", type=float, default=0.0)
    ap.add_argument("--en-holdout", type=int, default=200)
    ap.add_argument("--no-refit", action="store_true", help="keep the best validation epoch, no refit")
    ap.add_argument("--swap-contradictions", action="store_true", help="also train on (h, p) of contradictions")
    ap.add_argument("--dtype", choices=("float16", "float32"), default="float16")
    ap.add_argument("--extra", help="jsonl of {premise, hypothesis, label} to add to the training data")
    ap.add_argument("--init-from", help="fine-tune this head instead of starting fresh")
    ap.add_argument("--cache-dir", help="keep embeddings here between runs (e.g. /tmp/nli-cache)")
    ap.add_argument("--metrics", help="write the metrics as JSON here")
    a = ap.parse_args(argv)
    extra = None
    if a.extra:
        extra = [(d["premise"], d["hypothesis"], d["label"]) for d in
                 (json.loads(x) for x in Path(a.extra).read_text(encoding="utf-8").splitlines() if x.strip())]
    ev = Path(a.eval_dir)
    m = train(a.out, fa_dir=ev / "nli-fa", en_dir=ev / "nli-en", seed=a.seed, kind=a.kind, hidden=a.hidden,
              dropout=a.dropout, in_dropout=a.in_dropout, epochs=a.epochs, lr=a.lr, weight_decay=a.weight_decay,
              batch=a.batch, label_smoothing=a.label_smoothing, en_holdout=a.en_holdout, refit=not a.no_refit,
              swap_contradictions=a.swap_contradictions,
              extra_pairs=extra, init_from=a.init_from, cache_dir=a.cache_dir, dtype=a.dtype,
              log=lambda s: print(s, flush=True))
    m.pop("model")
    out = json.dumps(m, indent=1, default=float)
    if a.metrics:
        Path(a.metrics).write_text(out)
    print(json.dumps({k: v for k, v in m.items() if k != "history"}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
