"""The demo corpus's gold file, and how the record matches it.

The gold was written with the corpus, before any model saw it; later stages (narratives,
quotes, contradictions, coordination) score against the same file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from narratrace.clean.text import parse_date

DATA = Path(__file__).with_name("data")
CORPUS = DATA / "corpus"
SOURCES = DATA / "sources.yaml"
GOLD = DATA / "gold.yaml"
NARRATIVES = DATA / "narratives.yaml"
ENTITIES = DATA / "entities.yaml"


def load_gold(path: Path = GOLD) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def relative_origin(origin: str, corpus: Path = CORPUS) -> str:
    """'…/corpus/kna/x.html' → 'kna/x.html' (telegram messages keep their '#id')."""
    root = str(corpus.resolve()) + "/"
    o = str(Path(origin.split("#")[0]).resolve()) + ("#" + origin.split("#", 1)[1] if "#" in origin else "")
    return o[len(root):] if o.startswith(root) else origin


@dataclass
class RecordScore:
    documents_gold: int
    documents_found: int
    source_correct: int
    audience_correct: int
    language_correct: int
    date_correct: int
    dated_gold: int
    missing: list[str]

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _same_minute(a: datetime | None, gold: str | None) -> bool:
    if gold is None:
        return a is None
    g = parse_date(str(gold))
    return a is not None and g is not None and abs((a - g).total_seconds()) < 60


def score_record(ws, gold: dict, corpus: Path = CORPUS) -> RecordScore:
    docs = {relative_origin(d.origin, corpus): d for d in ws.documents()}
    entries = gold.get("documents") or []
    s = RecordScore(len(entries), 0, 0, 0, 0, 0, 0, [])
    for g in entries:
        d = docs.get(g["file"])
        if d is None:
            s.missing.append(g["file"])
            continue
        s.documents_found += 1
        s.source_correct += d.source == g.get("source")
        s.audience_correct += d.audience == g.get("audience")
        s.language_correct += d.language == g.get("language")
        if g.get("published_at"):
            s.dated_gold += 1
            s.date_correct += _same_minute(d.published_at, g.get("published_at"))
    return s
