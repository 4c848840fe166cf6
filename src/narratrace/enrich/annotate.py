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
from narratrace.enrich.quotes import extract_quotes, shift_spans, text_pieces
from narratrace.enrich.quotes.english import parse
from narratrace.enrich.quotes.model import QuoteFinding
from narratrace.ingest.deadline import checkpoint

# Bump when extraction changes in a way that should redo stored quotes (`narratrace quotes --redo`
# is not needed then: documents enriched with an older version are done again by the next run).
VERSION = "quotes-5"  # 4: quote carriers are stored; 5: continued statements, relayed "according to", role-then-name ledes
# NER reads the first 200,000 characters of a language run (a long article is ~20k); a hostile
# document longer than that gets gazetteer mentions and quotes over all of it, NER on its start.
NER_MAX_CHARS = 200_000


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


def speaker_keys(speaker: str) -> list[str]:
    """The stored speaker keys a query for ``speaker`` matches: that key as given, the entity with that
    key, or that name (``Workspace.quotes(speaker=…)``)."""
    return [k for k in (speaker, f"entity:{speaker}", speaker_key(None, speaker)) if k]


def annotate(text: str, sentences: list[tuple[int, int, str | None]], doc_language: str | None,
             gazetteer: Gazetteer, entity_keys: dict[int, str], nlp_for=None) -> Annotated:
    """Mentions and quotes of one document. ``nlp_for(language)`` gives a spaCy pipeline or None."""
    out = Annotated()
    gaz = gazetteer.find(text)
    ner: list[MentionSpan] = []
    for start, end, lang in language_runs(sentences, doc_language):
        checkpoint()  # the stage's per-document deadline, off the main thread (ingest/deadline.py)
        chunk = text[start:end]
        nlp = nlp_for(lang) if nlp_for else None
        # a speaker written as a registered title ("the Leader") is that entity, before any guess
        for q in extract_quotes(chunk, lang, nlp=nlp, is_alias=gazetteer.is_speaker_alias):
            shift_spans(q, start)
            eid = gazetteer.link(q.speaker_name)
            out.quotes.append((q, eid, speaker_key(entity_keys.get(eid), q.speaker_name)))
        if nlp is not None:
            # the quote extractor's parse of the same pieces, reused (parse keeps the last one);
            # NER over the first NER_MAX_CHARS of a run only
            for off, piece in text_pieces(chunk[:NER_MAX_CHARS]):
                checkpoint()
                ner.extend(ner_mentions(parse(nlp, piece), None, gazetteer, offset=start + off))
    out.mentions = merge_mentions(gaz, ner)
    return out


def sentence_of(starts: list[int], ids: list[int], pos: int) -> int | None:
    """The id of the sentence that contains offset ``pos`` (sentences sorted by start)."""
    i = bisect_right(starts, pos) - 1
    return ids[i] if i >= 0 else None
