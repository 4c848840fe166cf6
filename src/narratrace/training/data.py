"""The cross-encoder's training mix, read from ``../shared/eval/nli-train`` (never copied).

Sets and caps (per pass; the caps keep the stance and negation sets from drowning the three-way
NLI data, and were chosen so one pass fits the CPU recipe's ~1,800 steps of 32):

- English: SNLI dev (all but a held-out slice of premises for dev), PERSPECTRUM (2,500 per
  class), CANNOT (wikifactcheck 2,000, SemAntoNeg 2,000, sentiment 800), IBM claim stance, FEVER
  symmetric dev; generated "same topic, no claim" neutrals (a perspective against another
  PERSPECTRUM claim that shares a content word — the case relatedness must reject).
- Persian: FarsTail Train, twice (the only permissive Persian NLI set).
- Both: the generated pairs of ``pairs.generate`` (negation, antonyms, numbers, reported speech).

Held out, never read here: the benchmark folders of nli-train (breaking-nli, med-monotonicity,
negation-nli-hossain2020, nan-nli — kept as the negation gate), FarsTail Test, the SNLI subset in
``nli-en/``, and the report-only published test sets (scored by evaluation/nli.py, never read here).

Each language is then class-balanced: no class above 1.25× the language's rarest class.
Every pair is (premise, hypothesis, label, group), group = "<lang>:<set>".
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

from narratrace.training.pairs import generate

CAPS = {"perspectrum-stance": 2500, "cannot-wikifactcheck-refuted": 2000, "cannot-semantoneg": 2000,
        "cannot-sentiment-negated": 800}
BENCHMARKS = ("breaking-nli", "med-monotonicity", "negation-nli-hossain2020", "nan-nli")
BALANCE = 1.25
_WORD = re.compile(r"[a-z]{5,}")


def read_jsonl(path: Path, log=None) -> list[tuple[str, str, str, str]]:
    """One nli-train file; an absent one is an empty set (said in the log), so a user's partial
    copy of the data still trains."""
    out = []
    if not path.is_file():
        if log:
            log(f"training mix: {path} not found, skipped")
        return out
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                out.append((d["premise"], d["hypothesis"], d["label"], d.get("lang", "en")))
    return out


def _cap(rows, n, rng, per_class=False):
    if not per_class:
        rows = list(rows)
        rng.shuffle(rows)
        return rows[:n]
    by = defaultdict(list)
    for r in rows:
        by[r[2]].append(r)
    out = []
    for lab in sorted(by):
        out += _cap(by[lab], n, rng)
    return out


def topic_neutrals(rows, n: int, rng: random.Random):
    """A perspective against a *different* claim that shares a content word: on topic, no claim."""
    claims = sorted({h for _, h, _, _ in rows})
    index = defaultdict(list)
    for c in claims:
        for w in set(_WORD.findall(c.lower())):
            index[w].append(c)
    out = []
    rows = list(rows)
    rng.shuffle(rows)
    for prem, claim, _, _ in rows:
        words = sorted(set(_WORD.findall(prem.lower())))
        rng.shuffle(words)
        for w in words:
            others = [c for c in index.get(w, ()) if c != claim and c != prem]
            if others:
                out.append((prem, rng.choice(others), "neutral", "en"))
                break
        if len(out) >= n:
            break
    return out


def balance(rows, rng: random.Random):
    by = defaultdict(list)
    for r in rows:
        by[r[2]].append(r)
    if not by:
        return []
    cap = int(min(len(v) for v in by.values()) * BALANCE)
    out = []
    for lab in sorted(by):
        out += _cap(by[lab], cap, rng)
    return out


def training_mix(eval_dir: str | Path, rng: random.Random, log=print, gen_per_kind: int = 800) -> dict:
    root = Path(eval_dir) / "nli-train"
    tag = lambda rows, name: [(p, h, lab, f"{lang}:{name}") for p, h, lab, lang in rows]  # noqa: E731
    snli = read_jsonl(root / "snli-dev" / "dev.jsonl", log)
    premises = sorted({p for p, *_ in snli})
    rng.shuffle(premises)
    held = set(premises[:140])  # ~420 pairs held out by premise for dev
    snli_train = [r for r in snli if r[0] not in held]
    snli_dev = [r for r in snli if r[0] in held]
    fa_train = read_jsonl(root / "farstail" / "train.jsonl", log)
    fa_dev = read_jsonl(root / "farstail" / "dev.jsonl", log)
    persp = read_jsonl(root / "perspectrum-stance" / "train.jsonl", log)

    en = tag(snli_train, "snli")
    en += tag(_cap(persp, CAPS["perspectrum-stance"], rng, per_class=True), "perspectrum")
    for name in ("cannot-wikifactcheck-refuted", "cannot-semantoneg", "cannot-sentiment-negated"):
        en += tag(_cap(read_jsonl(root / name / "train.jsonl", log), CAPS[name], rng), name)
    # each side of a negation pair entails itself: the negation sets are all contradictions, and
    # without these a near-identical pair with "no" in it reads as a contradiction (measured on a
    # checkpoint: "X has no support inside K." against itself, p(contradiction) 0.72)
    negation_sides = [r for r in en if r[3].startswith("en:cannot") and r[2] == "contradiction"]
    rng.shuffle(negation_sides)
    en += [(x, x, "entailment", "en:negation-identity") for r in negation_sides[:600] for x in (r[0], r[1])]
    en += tag(read_jsonl(root / "ibm-claim-stance" / "train.jsonl", log), "ibm")
    en += tag(read_jsonl(root / "fever-symmetric" / "dev.jsonl", log), "fever")
    en += tag(topic_neutrals(persp, 2500, rng), "topic-neutral")
    gen = generate(snli_train + fa_train, rng, per_kind=gen_per_kind)
    en += [(p, h, lab, "en:generated") for p, h, lab, lang in gen if lang == "en"]
    fa = tag(fa_train, "farstail") * 2
    fa += [(p, h, lab, "fa:generated") for p, h, lab, lang in gen if lang == "fa"]
    # a text against itself is entailment whatever a source's stance label says
    en = [r for r in en if r[0].strip() != r[1].strip() or r[2] == "entailment"]
    fa = [r for r in fa if r[0].strip() != r[1].strip() or r[2] == "entailment"]
    train = balance(en, rng) + balance(fa, rng)
    if not train:
        raise ValueError(f"no training pairs under {root}: it needs at least snli-dev/ or farstail/ (see its README)")
    rng.shuffle(train)

    gen_dev = generate(snli_dev + fa_dev[:600], random.Random(rng.random()), per_kind=60)
    dev = tag(snli_dev, "snli") + tag(fa_dev[:600], "farstail") + \
        [(p, h, lab, f"{lang}:generated") for p, h, lab, lang in gen_dev]
    counts = {"train": dict(sorted(Counter(r[3] for r in train).items())),
              "train_labels": {lang: dict(sorted(Counter(r[2] for r in train if r[3].startswith(lang)).items()))
                               for lang in ("en", "fa")},
              "dev": dict(sorted(Counter(r[3] for r in dev).items()))}
    log(f"training mix: {json.dumps(counts)}")
    return {"train": train, "dev": dev, "counts": counts}
