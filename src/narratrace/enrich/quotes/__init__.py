"""Quote and speaker attribution for English and Persian (and any language with a rule file).

``extract_quotes(text, language)`` returns :class:`QuoteFinding` objects whose spans index
``text`` directly: direct quotations, reported speech and mixed forms, each with its cue, its
speaker as written and the speaker resolved to a named person within the document.
English uses a spaCy dependency parse on top of the shared rules (``english.py``); every other
language with a ``rules/<lang>.yaml`` file is served by the rule engine alone (``rules.py``);
a language without rules yields no findings.
"""

from __future__ import annotations

from .model import QuoteFinding
from .rules import extract_with_rules, load_rules
from .speakers import resolve_speakers

__all__ = ["QuoteFinding", "extract_quotes", "english_pipeline", "supported_languages"]


def supported_languages() -> list[str]:
    from .rules import RULES_DIR

    return sorted(p.stem for p in RULES_DIR.glob("*.yaml"))


def english_pipeline():
    """The cached spaCy pipeline English extraction uses (loaded once per process)."""
    from .english import english_pipeline as load

    return load()


def extract_quotes(text: str, language: str, *, nlp=None) -> list[QuoteFinding]:
    """All quote findings in one document's text, in text order. Never raises on odd input:
    empty text, unbalanced marks, bidi controls and mixed scripts give findings or []."""
    if not text or not text.strip():
        return []
    lang = (language or "").lower().split("-")[0].split("_")[0]
    rules = load_rules(lang)
    if rules is None:
        return []
    if lang == "en":
        from .english import extract_english

        return extract_english(text, rules, nlp=nlp)
    findings = extract_with_rules(text, rules)
    return resolve_speakers(text, findings, rules)
