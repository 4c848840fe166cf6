"""From scores to decisions: is a sentence (one view of it) about a narrative's claim, and does it
deny it?

Two small logistic models over six numbers per (view, narrative): the cosine of the sentence to
the closest assertion and to the closest counter-statement (and their margin), and the NLI
cross-encoder's p(entailment) of the closest assertions, p(contradiction) of them, and
p(entailment) of the closest counter. Retrieval similarity alone cannot tell "on the topic"
from "makes the claim"; NLI alone is strict about details the narrative's wording adds; the
combination is calibrated (its output is a probability) on real hand-labelled text —
campaign-dev's gold, by ``narratrace.evaluation.fit_relatedness`` — and stored in
``models/nli/relatedness.json`` with the NLI model it was fitted for.

When the NLI model in use is not the one the calibration was fitted for, the decision falls back
to the uncalibrated rule (related = the highest NLI probability, denies = contradiction or
counter-entailment above entailment) and says so in the stage report.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

PATH = Path(__file__).resolve().parent.parent / "models" / "nli" / "relatedness.json"
FEATURES = ("sim_assertion", "sim_counter", "sim_margin", "p_entail", "p_contradict", "p_counter_entail")
# A narrative without counter-statements: its "closest counter" is taken this far below the
# closest assertion (the median gap on campaign-dev, where every narrative has counters).
NO_COUNTER_GAP = 0.05


def features(sim_a: float, sim_c: float | None, pe: float, pc: float, pce: float | None) -> list[float]:
    sc = sim_a - NO_COUNTER_GAP if sim_c is None else sim_c
    return [sim_a, sc, sim_a - sc, pe, pc, 0.0 if pce is None else pce]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def weights_id(nli_model: str | None) -> str | None:
    """The NLI weights behind a model id: ``…+onnx-int8`` names the engine that ran them. A
    calibration holds for the weights under every engine — their probabilities differ by a mean
    0.009–0.011 (match/onnx_layers.py, bench/nli.py), far inside the calibration's
    cross-validation noise (campaign-dev gate checked with int8: bench/RESULTS.md 2026-12-02)."""
    return nli_model.split("+", 1)[0] if nli_model else nli_model


class Calibration:
    def __init__(self, spec: dict | None, nli_model: str) -> None:
        ok = spec and weights_id(spec.get("nli_model")) == weights_id(nli_model)
        self.spec = spec if ok else None
        self.fitted_for = spec.get("nli_model") if spec else None

    @property
    def active(self) -> bool:
        return self.spec is not None

    def related(self, f: list[float]) -> float:
        if self.spec is None:
            return max(f[3], f[4], f[5])
        h = self.spec["related"]
        return float(_sigmoid(np.dot(h["w"], f) + h["b"]))

    def denies(self, f: list[float]) -> float:
        if self.spec is None:
            return 1.0 if max(f[4], f[5]) > f[3] else 0.0
        h = self.spec["stance"]
        # Tried and measured (2026-12-01): also calling "denies" any view that entails a counter
        # more than an assertion. campaign-dev stance 0.946 → 0.841 (denies recall 1/7 → 2/7 at
        # precision 0.13), demo 0.92 → 0.87: the fitted model alone is better on both.
        return float(_sigmoid(np.dot(h["w"], f) + h["b"]))

    def default_sensitivity(self, fallback: float) -> float:
        return float(self.spec.get("sensitivity", fallback)) if self.spec else fallback


@functools.lru_cache(maxsize=4)
def _read(path: str) -> dict | None:
    p = Path(path)
    if not p.is_file():
        return None
    return json.loads(p.read_text(encoding="utf-8"))


def load(nli_model: str, path: str | Path = PATH) -> Calibration:
    return Calibration(_read(str(path)), nli_model)


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50) -> tuple[list[float], float]:
    """L2-regularised logistic regression by Newton's method on standardised features; returns
    weights and bias on the raw features (numpy only: no extra dependency for a 6-weight model)."""
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    mu, sd = X.mean(0), X.std(0) + 1e-9
    Z = np.hstack([(X - mu) / sd, np.ones((len(X), 1))])
    w = np.zeros(Z.shape[1])
    reg = np.r_[np.ones(len(w) - 1), 0.0] / l2
    for _ in range(iters):
        p = _sigmoid(Z @ w)
        g = Z.T @ (p - y) + reg * w
        H = (Z * (p * (1 - p))[:, None]).T @ Z + np.diag(reg)
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    coef = w[:-1] / sd
    return coef.tolist(), float(w[-1] - (mu / sd) @ w[:-1])
