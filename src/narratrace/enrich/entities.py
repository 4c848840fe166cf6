"""Entities and aliases: the analyst's registry (YAML or CSV), a gazetteer that finds every alias
in any language with exact spans, and English NER from the spaCy package when it is installed.

Nothing about a real entity is built in: people, organisations and their transliterations are
data the analyst maintains (``narratrace entities import``).

Matching works on a *folded* copy of the text that has the same length as the original, so a
match's offsets are offsets into ``Document.text``: case folded where that keeps one character,
Arabic ي/ك → Persian ی/ک, ZWNJ → space (analysts write «نیک‌زاد» and «نیکزاد» and «نیک زاد»
alike; the last two differ, so list both spellings as aliases when they occur).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from narratrace.errors import InvalidInput
from narratrace.store.models import Actor, Entity, EntityAlias
from narratrace.store.safe_yaml import load_yaml

KINDS = ("person", "organisation", "place", "other")
SPEAKER_KINDS = ("person", "organisation")  # who can be quoted
_FOLD = str.maketrans({"\u064a": "\u06cc", "\u0643": "\u06a9", "\u0649": "\u06cc", "\u200c": " ",
                       "\u2019": "'", "\u2018": "'"})
_SPACES = re.compile(r"\s+")
_EDGE_PUNCT = " \t\n.,;:!?\"'«»“”()[]،؛؟"


class EntityError(InvalidInput):
    pass


def fold(text: str) -> str:
    """Length-preserving fold for matching (see the module docstring)."""
    text = text.translate(_FOLD)
    # str.lower() keeps length except for a handful of characters (İ → i̇); keep those as they are.
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def normalize(alias: str) -> str:
    """The key an alias is stored and looked up under."""
    return _SPACES.sub(" ", fold(alias)).strip(_EDGE_PUNCT)


# -- the registry ---------------------------------------------------------------------------


def load_entities(path: Path) -> list[dict]:
    """YAML ``{entities: [{id, name, kind, actor, description, aliases: {lang: [..]} | [..]}]}`` or
    CSV/TSV with columns id, name, kind, actor, description, aliases (``;``-separated), language."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EntityError(f"{path}: cannot read ({exc})") from exc
    if path.suffix.lower() in (".csv", ".tsv"):
        reader = csv.DictReader(io.StringIO(raw), dialect="excel-tab" if path.suffix.lower() == ".tsv" else "excel")
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise EntityError(f"{path}: CSV needs an 'id' column (columns: id, name, kind, actor, description, "
                              "aliases, language)")
        rows = []
        for line, row in enumerate(reader, start=2):
            row = {k: (v or "").strip() for k, v in row.items() if k}
            aliases = [a.strip() for a in row.get("aliases", "").split(";") if a.strip()]
            rows.append({**row, "aliases": {row.get("language") or None: aliases}, "_at": f"{path}:{line}"})
        return rows
    data = load_yaml(raw, path, EntityError) or {}
    items = data.get("entities") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise EntityError(f"{path}: expected a mapping with an 'entities' list")
    return [{**e, "_at": f"{path} entity #{i + 1}"} if isinstance(e, dict) else {"_at": f"{path} entity #{i + 1}"}
            for i, e in enumerate(items)]


def _alias_pairs(raw) -> list[tuple[str | None, str]]:
    if raw is None:
        return []
    if isinstance(raw, dict):
        return [(str(lang) if lang else None, str(a)) for lang, vals in raw.items()
                for a in (vals if isinstance(vals, list) else [vals]) if a]
    if isinstance(raw, list):
        return [(None, str(a)) for a in raw if a]
    return [(None, str(raw))]


def apply_entities(session: Session, rows: list[dict]) -> dict[str, int]:
    """Upsert entities and their aliases (the name is always an alias). Returns counts."""
    counts = {"entities": 0, "aliases": 0}
    for row in rows:
        at = row.get("_at", "entity")
        if not row.get("id"):
            raise EntityError(f"{at}: has no 'id'")
        kind = str(row.get("kind") or "person")
        if kind not in KINDS:
            raise EntityError(f"{at}: kind '{kind}' is not one of {', '.join(KINDS)}")
        key = str(row["id"])
        ent = session.scalar(select(Entity).where(Entity.key == key))
        if ent is None:
            ent = Entity(key=key, name=str(row.get("name") or key), kind=kind)
            session.add(ent)
        ent.name = str(row.get("name") or ent.name)
        ent.kind = kind
        ent.description = row.get("description") or ent.description
        if row.get("actor"):
            actor = session.scalar(select(Actor).where(Actor.key == str(row["actor"])))
            if actor is None:
                raise EntityError(f"{at}: unknown actor '{row['actor']}' (import sources first: "
                                  "`narratrace sources import`)")
            ent.actor = actor
        have = {a.norm for a in ent.aliases}
        for lang, alias in [(None, ent.name), *_alias_pairs(row.get("aliases"))]:
            norm = normalize(alias)
            if norm and norm not in have:
                ent.aliases.append(EntityAlias(alias=alias, norm=norm, language=lang))
                have.add(norm)
                counts["aliases"] += 1
        counts["entities"] += 1
    session.flush()
    return counts


# -- finding them in text ---------------------------------------------------------------------


@dataclass(frozen=True)
class MentionSpan:
    start: int
    end: int
    label: str
    method: str  # gazetteer | ner
    entity_id: int | None


class Gazetteer:
    """Every alias of every entity, found with word boundaries, longest match first."""

    def __init__(self, aliases: dict[str, tuple[int, str]]) -> None:
        self.by_norm = aliases  # norm → (entity id, kind)
        self._pattern = None
        if aliases:
            alts = sorted(aliases, key=len, reverse=True)
            # One alternation: Python's regex engine tries alternatives in order at each position,
            # so longest-first gives longest match. Fine at thousands of aliases (measured: 5k
            # aliases over a 10k-char text ≈ 30 ms); past that an Aho–Corasick automaton would pay.
            body = "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in alts)
            self._pattern = re.compile(rf"(?<!\w)(?:{body})(?!\w)")

    @classmethod
    def load(cls, session: Session) -> Gazetteer:
        rows = session.execute(select(EntityAlias.norm, EntityAlias.entity_id, Entity.kind)
                               .join(Entity, EntityAlias.entity_id == Entity.id))
        aliases: dict[str, tuple[int, str]] = {}
        for norm, eid, kind in rows:
            aliases.setdefault(norm, (eid, kind))  # an alias two entities share goes to the first
        return cls(aliases)

    def find(self, text: str) -> list[MentionSpan]:
        if self._pattern is None or not text:
            return []
        folded = fold(text)
        out = []
        for m in self._pattern.finditer(folded):
            hit = self.by_norm.get(_SPACES.sub(" ", m.group(0)))
            if hit:
                out.append(MentionSpan(m.start(), m.end(), hit[1].upper(), "gazetteer", hit[0]))
        return out

    def is_speaker_alias(self, name: str) -> bool:
        """Whether ``name`` is exactly a registered alias of someone who can be quoted."""
        hit = self.by_norm.get(normalize(name))
        return hit is not None and hit[1] in SPEAKER_KINDS

    def link(self, name: str | None, kinds: tuple[str, ...] = SPEAKER_KINDS) -> int | None:
        """The entity a speaker's name refers to: an exact alias, else the one entity whose
        alias occurs inside it ("Foreign Minister Shirin Afkham" → Shirin Afkham). Only entities of
        ``kinds`` count: "the envoy who served in Dastgerd" does not name the place as speaker.
        Two different entities inside one name is ambiguous: no link."""
        if not name:
            return None
        hit = self.by_norm.get(normalize(name))
        if hit:
            return hit[0] if hit[1] in kinds else None
        ids = {m.entity_id for m in self.find(name) if m.label.lower() in kinds}
        return ids.pop() if len(ids) == 1 else None


NER_LABELS = {"PERSON", "ORG", "GPE", "NORP", "FAC", "LOC"}


def ner_mentions(doc_or_text, nlp=None, gazetteer: Gazetteer | None = None, offset: int = 0) -> list[MentionSpan]:
    """Named mentions from a spaCy Doc (or text parsed with ``nlp``), linked by alias when one matches."""
    doc = doc_or_text if nlp is None else nlp(doc_or_text)
    out = []
    for ent in doc.ents:
        if ent.label_ not in NER_LABELS:
            continue
        eid = gazetteer.link(ent.text) if gazetteer else None
        out.append(MentionSpan(offset + ent.start_char, offset + ent.end_char, ent.label_, "ner", eid))
    return out


def merge_mentions(gazetteer_hits: list[MentionSpan], ner_hits: list[MentionSpan]) -> list[MentionSpan]:
    """Gazetteer hits win (the analyst's registry is the authority); NER adds what does not overlap."""
    taken = sorted((m.start, m.end) for m in gazetteer_hits)
    out = list(gazetteer_hits)
    for m in ner_hits:
        if not any(s < m.end and m.start < e for s, e in taken):
            out.append(m)
    return sorted(out, key=lambda m: (m.start, m.end))
