"""The enrich stage for one document: named mentions (gazetteer for every language, spaCy NER for
English) and quotes with their speakers, linked to the analyst's entities where an alias matches.

A document can mix languages (a Persian page quoting an English statement), so the text is cut into
runs of consecutive sentences in one language and each run goes to that language's rules; offsets
are shifted back, so every span still points into ``Document.text``.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from narratrace.enrich.entities import Gazetteer, MentionSpan, merge_mentions, ner_mentions, normalize
from narratrace.enrich.quotes import extract_quotes
from narratrace.enrich.quotes.model import QuoteFinding

# Bump when extraction changes in a way that should redo stored quotes (`narratrace quotes --redo`
# is not needed then: documents enriched with an older version are done again by the next run).
VERSION = "quotes-2"
# spaCy's own limit is 1,000,000 characters; a hostile document longer than this gets NER on its
# first megabyte only (gazetteer and quote rules still see all of it).
NER_MAX_CHARS = 1_000_000


@dataclass
class Annotated:
    mentions: list[MentionSpan] = field(default_factory=list)
    quotes: list[tuple[QuoteFinding, int | None, str | None]] = field(default_factory=list)  # finding, entity, key


def language_runs(sentences: list[tuple[int, int, str | None]], doc_language: str | None) -> list[tuple[int, int, str]]:
    """(start, end, language) runs of consecutive sentences in one language (None → the document's)."""
    runs: list[list] = []
    for start, end, lang in sentences:
        lang = lang or doc_language or "und"
        if runs and runs[-1][2] == lang:
            runs[-1][1] = end
        else:
            runs.append([start, end, lang])
    return [tuple(r) for r in runs]


def speaker_key(entity_key: str | None, name: str | None) -> str | None:
    if entity_key:
        return f"entity:{entity_key}"
    norm = normalize(name or "")
    return f"name:{norm}" if norm else None


def annotate(text: str, sentences: list[tuple[int, int, str | None]], doc_language: str | None,
             gazetteer: Gazetteer, entity_keys: dict[int, str], nlp_for=None) -> Annotated:
    """Mentions and quotes of one document. ``nlp_for(language)`` gives a spaCy pipeline or None."""
    out = Annotated()
    gaz = gazetteer.find(text)
    ner: list[MentionSpan] = []
    for start, end, lang in language_runs(sentences, doc_language):
        chunk = text[start:end]
        nlp = nlp_for(lang) if nlp_for else None
        if nlp is not None and start < NER_MAX_CHARS:
            ner.extend(ner_mentions(chunk[:NER_MAX_CHARS - start], nlp, gazetteer, offset=start))
        for q in extract_quotes(chunk, lang, nlp=nlp):
            _shift(q, start)
            eid = gazetteer.link(q.speaker_name)
            out.quotes.append((q, eid, speaker_key(entity_keys.get(eid), q.speaker_name)))
    out.mentions = merge_mentions(gaz, ner)
    return out


def _shift(q: QuoteFinding, offset: int) -> None:
    if not offset:
        return
    for name in ("start", "end", "cue_start", "cue_end", "speaker_start", "speaker_end",
                 "speaker_name_start", "speaker_name_end"):
        v = getattr(q, name)
        if v is not None:
            setattr(q, name, v + offset)


def sentence_of(starts: list[int], ids: list[int], pos: int) -> int | None:
    """The id of the sentence that contains offset ``pos`` (sentences sorted by start)."""
    i = bisect_right(starts, pos) - 1
    return ids[i] if i >= 0 else None
