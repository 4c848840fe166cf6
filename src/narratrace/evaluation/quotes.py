"""Quote attribution scored on PolNeAR (published) and on the demo corpus's gold quotes.

PolNeAR (``../shared/eval/quotes-en``): 2016 US political news, brat standoff. Each ``.ann`` holds
Source / Cue / Content text-bound spans linked by ``Attribution`` (or ``Attribution-no-source``)
events. Layout: ``<split>/text/<name>.txt`` and ``<split>/attributions/<name>_<annotator>.ann``;
a few texts were annotated by several annotators (two dev texts by six): we score against the
annotator whose id sorts first, so every text counts once.

Scoring, per document, summed over the split (micro P/R/F1), separately for source, content
and cue:

* One gold item per attribution and role (an attribution without a source has no source item).
  A discontinuous span ("“A,” he said. “B.”" is one Content in two pieces) is scored as its hull,
  first start to last end.
* One predicted item per attribution: our findings that share a cue span are one attribution
  (a quote continued over sentences is several findings with the same cue); their content is
  the hull of the findings' content spans. Findings with no cue (a quotation with no one saying
  it, a scare quote) are not attributions and are not scored.
  Predicted source = ``speaker_start/speaker_end`` (the speaker as written), content =
  ``start/end``, cue = ``cue_start/cue_end``.
* Both sides are normalised before comparing: surrounding whitespace, quotation marks and
  trailing ``. , ; :`` are stripped, and a leading complementiser "that " is dropped. PolNeAR's
  direct-quote contents include the quotation marks and its indirect contents include "that";
  narratrace's content spans exclude both, so without this exact match would compare
  conventions rather than extraction.
* Exact match: equal normalised spans, 1-1. Overlap match: any character overlap, 1-1, assigned
  greedily by descending overlap length (ties by text order).

Published reference (on PARC 3.0, a different corpus, so a yardstick not a like-for-like figure):
BBC Citron source exact F1 82.0, content overlap F1 83.3.

Demo gold (``demo/data/gold.yaml`` ``quotes:``): for each gold quote, the findings in that
document whose content overlaps the gold quote's text; recall = gold quotes with at least one,
speaker accuracy = of those, the share where one of them has a resolved ``speaker_name``
matching one of the gold person's aliases (see :func:`name_matches`).

CLI: ``python -m narratrace.evaluation.quotes --split dev --eval-dir ../shared/eval``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from narratrace.enrich.quotes import english_pipeline, extract_quotes
from narratrace.enrich.quotes.model import QuoteFinding

ROLES = ("source", "content", "cue")
QUOTE_MARKS = "\"'“”‘’«»„"


@dataclass
class Attribution:
    source: tuple[int, int] | None
    cue: tuple[int, int] | None
    content: tuple[int, int] | None


@dataclass
class PolnearDoc:
    name: str
    text: str
    annotator: str
    attributions: list[Attribution] = field(default_factory=list)


def _spans(s: str) -> tuple[int, int]:
    parts = [tuple(map(int, p.split())) for p in s.split(";")]
    return min(p[0] for p in parts), max(p[1] for p in parts)


def parse_ann(ann: str) -> list[Attribution]:
    spans: dict[str, tuple[str, tuple[int, int]]] = {}
    events = []
    for line in ann.splitlines():
        cols = line.split("\t")
        if len(cols) < 2:
            continue
        if cols[0].startswith("T"):
            kind, _, pos = cols[1].partition(" ")
            spans[cols[0]] = (kind, _spans(pos))
        elif cols[0].startswith("E"):
            events.append(cols[1].split())
    out = []
    for args in events:
        roles: dict[str, tuple[int, int]] = {}
        for a in args[1:]:
            role, _, tid = a.partition(":")
            role = re.sub(r"\d+$", "", role).lower()
            if tid in spans and role in ROLES and role not in roles:
                roles[role] = spans[tid][1]
        if roles.get("content") or roles.get("cue"):
            out.append(Attribution(roles.get("source"), roles.get("cue"), roles.get("content")))
    return out


def load_polnear(split_dir: Path) -> list[PolnearDoc]:
    """All documents of one split (``dev`` or ``test`` folder), first annotator per text."""
    split_dir = Path(split_dir)
    anns: dict[str, list[Path]] = {}
    for p in sorted((split_dir / "attributions").glob("*.ann")):
        stem, _, annot = p.stem.rpartition("_")
        anns.setdefault(stem, []).append(p)
    docs = []
    for t in sorted((split_dir / "text").glob("*.txt")):
        if t.stem not in anns:
            continue
        ann = anns[t.stem][0]
        docs.append(PolnearDoc(t.stem, t.read_text(encoding="utf-8"), ann.stem.rpartition("_")[2],
                               parse_ann(ann.read_text(encoding="utf-8"))))
    return docs


def norm_span(text: str, s: int, e: int) -> tuple[int, int]:
    """The scoring normalisation described in the module docstring."""
    strip = QUOTE_MARKS + " \t\n\r\u00a0.,;:"
    while s < e and text[s] in strip:
        s += 1
    while e > s and text[e - 1] in strip:
        e -= 1
    m = re.match(r"that\s+", text[s:e], re.IGNORECASE)
    if m and e - s > m.end():
        s += m.end()
        while s < e and text[s] in strip:
            s += 1
    return s, e


def predicted_attributions(findings: list[QuoteFinding]) -> list[Attribution]:
    groups: dict[tuple[int, int], list[QuoteFinding]] = {}
    for f in findings:
        if f.cue_start is None:
            continue
        groups.setdefault((f.cue_start, f.cue_end), []).append(f)
    out = []
    for cue, fs in groups.items():
        sp = next(((f.speaker_start, f.speaker_end) for f in fs if f.speaker_start is not None), None)
        out.append(Attribution(sp, cue, (min(f.start for f in fs), max(f.end for f in fs))))
    return out


def _match(gold: list[tuple[int, int]], pred: list[tuple[int, int]], exact: bool) -> int:
    if exact:
        pool: dict[tuple[int, int], int] = {}
        for g in gold:
            pool[g] = pool.get(g, 0) + 1
        hits = 0
        for p in pred:
            if pool.get(p, 0) > 0:
                pool[p] -= 1
                hits += 1
        return hits
    pairs = []
    for i, g in enumerate(gold):
        for j, p in enumerate(pred):
            ov = min(g[1], p[1]) - max(g[0], p[0])
            if ov > 0:
                pairs.append((-ov, i, j))
    pairs.sort()
    used_g, used_p = set(), set()
    for _, i, j in pairs:
        if i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
    return len(used_g)


def _prf(tp: int, n_pred: int, n_gold: int) -> dict:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "tp": tp, "predicted": n_pred, "gold": n_gold}


def score_document(text: str, gold: list[Attribution], pred: list[Attribution], counts: dict) -> None:
    for role in ROLES:
        g = [norm_span(text, *getattr(a, role)) for a in gold if getattr(a, role)]
        p = [norm_span(text, *getattr(a, role)) for a in pred if getattr(a, role)]
        g = [x for x in g if x[1] > x[0]]
        p = [x for x in p if x[1] > x[0]]
        for mode in ("exact", "overlap"):
            c = counts.setdefault(f"{role}_{mode}", [0, 0, 0])
            c[0] += _match(g, p, mode == "exact")
            c[1] += len(p)
            c[2] += len(g)


def evaluate_polnear(split_dir: Path, extract: Callable[[str], list[QuoteFinding]] | None = None,
                     limit: int | None = None) -> dict:
    """Micro P/R/F1 per role and match mode over one split, plus throughput."""
    if extract is None:
        nlp = english_pipeline()

        def extract(text: str) -> list[QuoteFinding]:
            return extract_quotes(text, "en", nlp=nlp)
    docs = load_polnear(split_dir)[:limit]
    counts: dict[str, list[int]] = {}
    elapsed = 0.0
    chars = 0
    for d in docs:
        t0 = time.perf_counter()
        findings = extract(d.text)
        elapsed += time.perf_counter() - t0
        chars += len(d.text)
        score_document(d.text, d.attributions, predicted_attributions(findings), counts)
    out = {k: _prf(*v) for k, v in counts.items()}
    out["documents"] = len(docs)
    out["seconds"] = round(elapsed, 2)
    out["docs_per_s"] = round(len(docs) / elapsed, 2) if elapsed else None
    out["chars_per_s"] = round(chars / elapsed) if elapsed else None
    return out


# ------------------------------------------------------------------------------- demo gold

_NORM = str.maketrans({"ي": "ی", "ك": "ک", "\u200c": " ", "أ": "ا", "إ": "ا"})
_HONORIFIC = re.compile(r"^(?:dr|mr|mrs|ms|prof|ambassador|minister|foreign minister|آقای|خانم|دکتر)\.?\s+")


def _norm_name(s: str) -> str:
    s = " ".join(re.sub(r"[^\w\s]", " ", s.translate(_NORM).lower()).split())
    return _HONORIFIC.sub("", s)


def name_matches(name: str | None, aliases: list[str]) -> bool:
    """True when the resolved name and one alias are the same words, or one is the other's
    leading or trailing words ("Vallo" ~ "Henrik Vallo", "Henrik Vallo" ~ "Henrik Vallo, former …")."""
    if not name:
        return False
    n = _norm_name(name).split()
    if not n:
        return False
    for a in aliases:
        w = _norm_name(a.split(",")[0]).split()
        if not w:
            continue
        short, long_ = (n, w) if len(n) <= len(w) else (w, n)
        if long_[:len(short)] == short or long_[-len(short):] == short:
            return True
    return False


def _locate(text: str, quote: str) -> tuple[int, int] | None:
    q = quote.strip()
    for cand in (q, q.rstrip(".,;:!?؟"), q[:60]):
        k = text.find(cand)
        if cand and k >= 0:
            return k, k + len(q) if cand != q[:60] else k + len(cand)
    return None


def score_demo_quotes(gold: Mapping, docs: Mapping[str, tuple[str, list[QuoteFinding]]],
                      aliases: Mapping[str, list[str]]) -> dict:
    """``docs``: gold document id → (stored text, findings). ``aliases``: person key → names."""
    found = correct = located = 0
    rows = []
    for g in gold.get("quotes") or []:
        text, findings = docs.get(g["document"], ("", []))
        loc = _locate(text, g["quote"])
        row = {"document": g["document"], "speaker": g["speaker"], "quote": g["quote"][:60], "found": False,
               "speaker_name": None, "speaker_ok": False}
        rows.append(row)
        if loc is None:
            row["error"] = "gold quote not in the stored text"
            continue
        located += 1
        hits = sorted((f for f in findings if min(f.end, loc[1]) - max(f.start, loc[0]) > 0),
                      key=lambda f: -(min(f.end, loc[1]) - max(f.start, loc[0])))
        if not hits:
            continue
        found += 1
        ok = [f for f in hits if name_matches(f.speaker_name, list(aliases.get(g["speaker"], [])))]
        best = (ok or hits)[0]
        row.update(found=True, speaker_name=best.speaker_name, kind=best.kind)
        if ok:
            correct += 1
            row["speaker_ok"] = True
    n = len(rows)
    return {"quotes": n, "located": located, "found": found, "speaker_correct": correct,
            "quote_recall": round(found / n, 4) if n else 0.0,
            "speaker_accuracy": round(correct / found, 4) if found else 0.0, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="dev", choices=("dev", "test"))
    ap.add_argument("--eval-dir", default=str(Path(__file__).resolve().parents[3].parent / "shared" / "eval"))
    ap.add_argument("--limit", type=int)
    a = ap.parse_args(argv)
    res = evaluate_polnear(Path(a.eval_dir) / "quotes-en" / a.split, limit=a.limit)
    json.dump(res, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
