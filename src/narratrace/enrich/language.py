"""Language identification behind a small protocol; the default ships its model inside
the py3langid package (no download, ~0.06 ms per sentence on this 2-core machine)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Protocol

import py3langid.langid as L


class LanguageIdentifier(Protocol):
    def identify(self, text: str) -> tuple[str | None, float]:
        """(ISO 639-1 code or None when unsure, confidence 0..1)."""


# Below this confidence, or on texts shorter than MIN_CHARS, a sentence inherits its
# document's language. Calibrated by hand on the demo corpus: short English lines like
# "Hello" come back as Breton at p≈0.06; real sentences score ≥ 0.8.
MIN_CONFIDENCE = 0.5
MIN_CHARS = 20
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


class Py3LangidIdentifier:
    def __init__(self) -> None:
        self._ident = L.LanguageIdentifier.from_model_file(L.MODEL_FILE, norm_probs=True)

    def identify(self, text: str) -> tuple[str | None, float]:
        if len(_LETTERS.findall(text)) < 3:
            return None, 0.0
        lang, prob = self._ident.classify(text)
        return lang, float(prob)


@lru_cache(maxsize=1)
def default_identifier() -> LanguageIdentifier:
    return Py3LangidIdentifier()


def document_language(text: str, hint: str | None = None, ident: LanguageIdentifier | None = None) -> str | None:
    ident = ident or default_identifier()
    # 2,000 characters identify a language as well as 5,000 (checked on the demo corpus)
    # and cost 2.5x less: language ID is linear in text length.
    lang, prob = ident.identify(text[:2000])
    if lang is None or prob < MIN_CONFIDENCE:
        return hint or lang
    return lang


def sentence_language(text: str, doc_language: str | None, ident: LanguageIdentifier | None = None) -> str | None:
    if len(text) < MIN_CHARS:
        return doc_language
    ident = ident or default_identifier()
    lang, prob = ident.identify(text)
    if lang is None or prob < MIN_CONFIDENCE:
        return doc_language
    return lang


def majority_language(pieces: list[tuple[str, str | None]]) -> str | None:
    """The document language of a mixed document: the language with the most characters
    over its sentences. Whole-text language ID leans towards the script with the most
    distinctive n-grams (an English article quoting one Persian sentence comes out 'fa')."""
    weight: dict[str, int] = {}
    for text, lang in pieces:
        if lang:
            weight[lang] = weight.get(lang, 0) + len(text)
    return max(sorted(weight), key=weight.__getitem__) if weight else None
