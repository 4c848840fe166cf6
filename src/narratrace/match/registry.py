"""The analyst's narrative registry (YAML): what each talking point sounds like, in any language,
and what denying it sounds like. Errors name the file and line.

    narratives:
      - id: no-domestic-support
        name: The movement has no support at home
        description: Officials say the movement is a handful of exiles.
        assertions:                    # how pushing it sounds (any language, ≥ 1)
          - The movement has no support inside the country.
          - جبهه هیچ پایگاهی در داخل کشور ندارد.
        counters:                      # how denying it sounds (optional)
          - The movement has wide support across the country.
        entities: [rah-e-azadi-front]  # related actors/entities (optional)
        contradicts: [front-organises-unrest]  # narratives one cannot hold together with this one
        disarm: [T0022]                 # DISARM technique ids the analyst tags (optional; STIX export)
        sensitivity: 0.6                # 0..1, higher matches more (optional; default in match/stance.py)
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from narratrace.errors import InvalidInput
from narratrace.store.models import Narrative, NarrativeStatement
from narratrace.store.safe_yaml import load_yaml_node

FIELDS = ("id", "name", "description", "assertions", "counters", "entities", "contradicts", "disarm", "sensitivity")
# DISARM technique ids: T0022, or a sub-technique T0022.001 (DISARM framework numbering).
DISARM_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,127}$")
MAX_STATEMENT = 1000


class NarrativeError(InvalidInput):
    pass


@dataclass
class NarrativeSpec:
    key: str
    name: str
    description: str | None = None
    assertions: list[str] = field(default_factory=list)
    counters: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    contradicts: list[str] = field(default_factory=list)
    disarm: list[str] = field(default_factory=list)
    sensitivity: float | None = None
    line: int = 0


def _strings(value, where: str, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(x, (str, int, float)) for x in value):
        raise NarrativeError(f"{where}: '{name}' must be a list of strings")
    out = [str(x).strip() for x in value if str(x).strip()]
    for x in out:
        if len(x) > MAX_STATEMENT:
            raise NarrativeError(f"{where}: a statement in '{name}' is over {MAX_STATEMENT} characters")
    return out


def load_narratives(path: str | Path) -> list[NarrativeSpec]:
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NarrativeError(f"{path}: cannot read ({exc})") from exc
    root, data = load_yaml_node(raw, path, NarrativeError)
    items = data.get("narratives") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise NarrativeError(f"{path}: expected a list of narratives under 'narratives:'")
    nodes = []
    if root is not None:
        seq = root
        if isinstance(root, yaml.MappingNode):
            seq = next((v for k, v in root.value if k.value == "narratives"), None)
        nodes = list(getattr(seq, "value", []) or [])
    specs, seen = [], set()
    for i, item in enumerate(items):
        line = nodes[i].start_mark.line + 1 if i < len(nodes) else 0
        where = f"{path}:{line}"
        if not isinstance(item, dict):
            raise NarrativeError(f"{where}: each narrative must be a mapping with at least 'id' and 'assertions'")
        unknown = [k for k in item if k not in FIELDS]
        if unknown:
            hint = difflib.get_close_matches(str(unknown[0]), FIELDS, n=1)
            raise NarrativeError(f"{where}: unknown field '{unknown[0]}'" + (f" (did you mean '{hint[0]}'?)" if hint else
                                 f" (fields: {', '.join(FIELDS)})"))
        key = str(item.get("id") or "").strip()
        if not KEY_RE.match(key):
            raise NarrativeError(f"{where}: 'id' is missing or not a lower-case slug (a-z, 0-9, '-', '_')")
        if key in seen:
            raise NarrativeError(f"{where}: narrative '{key}' is defined twice")
        seen.add(key)
        spec = NarrativeSpec(key=key, name=str(item.get("name") or key), line=line,
                             description=str(item["description"]) if item.get("description") else None,
                             assertions=_strings(item.get("assertions"), where, "assertions"),
                             counters=_strings(item.get("counters"), where, "counters"),
                             entities=_strings(item.get("entities"), where, "entities"),
                             contradicts=_strings(item.get("contradicts"), where, "contradicts"),
                             disarm=[t.upper() for t in _strings(item.get("disarm"), where, "disarm")])
        if item.get("sensitivity") is not None:
            sens = item["sensitivity"]
            if isinstance(sens, bool) or not isinstance(sens, int | float) or not 0 < sens < 1:
                raise NarrativeError(f"{where}: 'sensitivity' must be a number between 0 and 1 (got {sens!r}); "
                                     "higher matches more sentences")
            spec.sensitivity = float(sens)
        bad = [t for t in spec.disarm if not DISARM_ID.match(t)]
        if bad:
            raise NarrativeError(f"{where}: '{bad[0]}' is not a DISARM technique id (like T0022 or T0022.001)")
        if not spec.assertions:
            raise NarrativeError(f"{where}: narrative '{key}' needs at least one statement under 'assertions'")
        specs.append(spec)
    for s in specs:
        if s.key in s.contradicts:
            raise NarrativeError(f"{path}:{s.line}: narrative '{s.key}' cannot contradict itself")
    return specs


def apply_narratives(session: Session, specs: list[NarrativeSpec]) -> dict[str, int]:
    """Upsert narratives by id; their statements are replaced (matches are recomputed by `match`)."""
    counts = {"narratives": 0, "statements": 0}
    known = {n.key for n in session.scalars(select(Narrative))}
    for spec in specs:
        n = session.scalar(select(Narrative).where(Narrative.key == spec.key))
        if n is None:
            n = Narrative(key=spec.key, name=spec.name, status="active", origin="registry")
            session.add(n)
        n.name, n.description = spec.name, spec.description
        n.entities, n.contradicts, n.disarm = spec.entities or None, spec.contradicts or None, spec.disarm or None
        n.sensitivity = spec.sensitivity
        if n.status == "dismissed":
            n.status = "active"
        want = [("assertion", t) for t in spec.assertions] + [("counter", t) for t in spec.counters]
        have = [(st.kind, st.text) for st in n.statements]
        if have != want:
            n.statements.clear()
            session.flush()
            n.statements.extend(NarrativeStatement(kind=k, text=t) for k, t in want)
        counts["narratives"] += 1
        counts["statements"] += len(want)
    missing = {c for s in specs for c in s.contradicts} - known - {s.key for s in specs}
    if missing:
        raise NarrativeError(f"'contradicts' names unknown narratives: {', '.join(sorted(missing))}")
    return counts
