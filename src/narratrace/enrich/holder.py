"""Who holds a claim: the outlet's own voice, a quoted or reported speaker, or a reported claim
the writer distances itself from.

A sentence is read as one or more *views*: (holder kind, holder name, the span of the sentence
that carries the claim). The own-voice view is the whole sentence. A reporting frame from the
per-language rules (``rules/holder.yaml``: "X claimed that P", «به ادعای X، P», "X said P",
«X گفت: P») adds a view whose content is P, held by X; a stored quote that overlaps the sentence
adds one held by its resolved speaker. The matcher asks the NLI model about each view's content
and keeps the view that carries the claim (match/stance.py), so

- "The regime claims the movement has no support" → the claim is the regime's (reported), and
  the outlet that writes this sentence is not charged with it;
- "X falsely claimed that P" → reported, and the writer's own stance towards P is *denies*.

Rules are deliberately small and linear: every sentence goes through them (bench/hostile.py).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from narratrace.enrich.entities import fold

RULES = Path(__file__).resolve().parent / "rules" / "holder.yaml"
KINDS = ("outlet", "speaker", "reported")
# Views per sentence: the own voice, one frame and quotes up to this many in all. Each view costs
# one NLI pair per statement read, so this bounds the work per sentence; campaign-dev's
# sentences have at most two attributed claims.
MAX_VIEWS = 3
_PRONOUNS = frozenset("he she they it we i او آنها ایشان وی".split())


@dataclass(frozen=True)
class View:
    kind: str               # outlet | speaker | reported
    holder: str | None      # the holder as written (None for the outlet's own voice)
    start: int              # content span, offsets into the sentence
    end: int
    writer_stance: str | None = None  # "denies" when the frame shows disbelief ("falsely claimed")
    entity_key: str | None = None     # set for quotes with a resolved speaker
    negates: bool = False             # a denial frame: the holder denies the content ("X denied P")


@dataclass(frozen=True)
class _Frame:
    kind: str
    regex: re.Pattern
    negates: bool = False


@functools.lru_cache(maxsize=1)
def rules(path: str = str(RULES)) -> dict[str, dict]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    out = {}
    for lang, spec in raw.items():
        out[lang] = {
            "frames": [_Frame(f["kind"], re.compile(f["pattern"], re.IGNORECASE | re.DOTALL), bool(f.get("negates")))
                       for f in spec["frames"]],
            "collectives": {fold(c) for c in spec.get("collectives", [])},
            "disbelief": re.compile(r"(?<![\w\u200c])(?:" + "|".join(re.escape(w) for w in spec.get("disbelief", []))
                                    + r")(?![\w\u200c])", re.IGNORECASE),
        }
    return out


def _collective(holder: str, collectives: set[str]) -> bool:
    h = fold(holder).strip(" .,:;'\"«»“”")
    h = re.sub(r"^(?:the|some|many|iran's|iranian)\s+", "", h)
    return h in collectives or any(h.endswith(" " + c) or h == c for c in collectives)


def views(sentence: str, language: str | None, quotes: list[tuple[int, int, str | None]] = ()) -> list[View]:
    """The own-voice view, then every frame and quote view of ``sentence``.

    ``quotes``: (start, end, speaker entity key or None) of stored quotes, in sentence offsets."""
    out = [View("outlet", None, 0, len(sentence))]
    lang = "fa" if language == "fa" else "en"
    spec = rules().get(lang)
    if len(sentence) > 2000:  # a run-on "sentence": frames are about a clause, not a page
        sentence = sentence[:2000]
    if spec:
        for fr in spec["frames"]:
            m = fr.regex.search(sentence)
            if not m:
                continue
            holder = (m.groupdict().get("holder") or "").strip() or None
            s, e = m.span("content")
            kind = fr.kind
            if kind == "speaker" and holder and _collective(holder, spec["collectives"]):
                kind = "reported"
            if holder and fold(holder).strip() in _PRONOUNS:
                holder = None
            frame_text = sentence[:s] + " " + sentence[e:] if kind == "reported" else ""
            stance = "denies" if frame_text and spec["disbelief"].search(frame_text) else None
            out.append(View(kind, holder, s, e, stance, negates=fr.negates))
            break  # the first (most specific) frame wins: frames are ordered in the rules
    for qs, qe, key in quotes:
        s, e = max(qs, 0), min(qe, len(sentence))
        if e - s < 8:
            continue
        # "«…», he said" is both a frame and a quote: the frame's view takes the quote's resolved
        # speaker (the quote stage resolves pronouns and aliases; the frame only has "he"), rather
        # than a second view of the same words that ties with it and loses the speaker
        same = next((i for i, v in enumerate(out[1:], 1) if v.entity_key is None
                     and 2 * (min(e, v.end) - max(s, v.start)) >= max(e - s, v.end - v.start)), None)
        if same is not None:
            out[same] = replace(out[same], holder=out[same].holder or key, entity_key=key)
        elif len(out) < MAX_VIEWS:
            out.append(View("speaker", key, s, e, None, key))
    return out
