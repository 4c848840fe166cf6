"""A language-agnostic quote-attribution rule engine, driven by ``rules/<lang>.yaml``.

The engine knows nothing about any one language: quotation mark pairs, reporting verbs (as
token sequences), "according to"-style prefixes, pronouns, role nouns and the character
normalisation all come from the data file. Adding a language is adding a file; a language
with a verb-final clause order (Persian) is served entirely by :func:`extract_with_rules`,
English adds a dependency parse on top (``english.py``) but reuses the quote finder,
sentence splitter and normaliser here.

Confidence values here are ordinal, not calibrated probabilities: 0.9 cue right before a
quotation, 0.8 cue after it / prefix cue / reported clause, 0.6 unclosed quotation or a
"Label:" line, 0.3 a quotation nobody is said to have said.

Offsets are sacred: every normalisation maps one character to one character, so a span found
in the normalised text is the same span in the text the caller gave us.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from .marks import BIDI, Quote, find_quotes, paragraph_ends, sentences, trim_span
from .model import QuoteFinding

RULES_DIR = Path(__file__).with_name("rules")


# Regexes here read hostile text: none may backtrack more than a constant number of times per
# character. The shape to avoid is a quantified group whose parts can split one run of characters
# in many ways ("(?:[a-z][a-z.]*\s?){1,4}" on a long word): write the inner run possessive
# (``*+``), so a word always takes its whole run. tests/enrich/test_quote_rules_bounded.py and
# bench/hostile.py hold them to that. WORD is safe as written: its separators [.'’] are not in
# [^\W_], so every character can be consumed one way only.
WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*\.?", re.UNICODE)


@dataclass(frozen=True)
class RuleSet:
    language: str
    quote_pairs: dict[str, str]
    cue_forms: tuple[tuple[tuple[str, ...], str], ...]   # (token sequence, lemma), longest first
    cue_lemmas: frozenset[str]
    cue_particles: dict[str, frozenset[str]]
    object_content_verbs: dict[str, frozenset[str]]     # lemma → prepositions introducing the content
    prefix_cues: tuple[tuple[str, ...], ...]
    complementizers: frozenset[str]
    pronouns: frozenset[str]
    resolvable_pronouns: frozenset[str]
    impersonal_subjects: frozenset[str]
    stop_words: frozenset[str]
    name_introducers: tuple[tuple[str, ...], ...]
    honorifics: frozenset[str]
    role_nouns: frozenset[str]
    generic_nouns: frozenset[str]
    label_stop_words: frozenset[str]
    char_map: dict[str, str] = field(default_factory=dict)
    generic_determiners: frozenset[str] = frozenset()
    org_nouns: frozenset[str] = frozenset()
    document_nouns: frozenset[str] = frozenset()   # "the report added": a document speaks for its issuer
    document_cues: frozenset[str] = frozenset()    # cues only with a document subject: "…,” read the statement
    demonstratives: frozenset[str] = frozenset()
    role_groups: dict[str, str] = field(default_factory=dict)   # role noun → its synonym group's first word
    cue_not_with_xcomp: frozenset[str] = frozenset()
    role_prefixes: frozenset[str] = frozenset()
    singular_indefinites: frozenset[str] = frozenset()
    dash_cues: tuple[str, ...] = ()
    head_last: bool = False              # noun phrases end in their head (English) or start with it
    title_words: frozenset[str] = frozenset()               # lower-case words a title may hold ("of")
    appositive_continuations: frozenset[str] = frozenset()  # words that continue a role's noun phrase
    gender_words: dict[str, str] = field(default_factory=dict)     # "ms" → "female"
    pronoun_gender: dict[str, str] = field(default_factory=dict)   # "she" → "female"
    carrier_verbs: frozenset[str] = frozenset()             # "quoted X as saying": X speaks, the subject carries
    carrier_prefixes: tuple[tuple[str, ...], ...] = ()      # "به گزارش X،": X carries a statement another makes
    scare_quote_words: int = 0           # a quotation no cue claims, this many words or fewer: a term mark

    def role(self, word: str) -> str:
        """A role noun's canonical form: "envoy" → "ambassador" (``role_synonyms``)."""
        return self.role_groups.get(word, word)


def _seq(s: str, char_map: dict[str, str]) -> tuple[str, ...]:
    return tuple(normalize(s, char_map).split())


@cache
def load_rules(language: str) -> RuleSet | None:
    """The rule set for a language, or None when there is no data file for it."""
    path = RULES_DIR / f"{(language or '').lower()}.yaml"
    if not language or not path.is_file():
        return None
    d = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cmap = {k: v for k, v in (d.get("normalize") or {}).items() if len(k) == 1 and len(v) == 1}
    cues = d.get("cue_verbs") or []
    forms: list[tuple[tuple[str, ...], str]] = []
    if isinstance(cues, dict):          # lemma → explicit inflected forms (Persian)
        for lemma, fs in cues.items():
            for f in [lemma, *(fs or [])]:
                seq = _seq(f, cmap)
                forms.append((seq, lemma))
                for joined in _joined_variants(seq, d.get("joined_prefixes") or [], d.get("joined_suffixes") or []):
                    forms.append((joined, lemma))
        lemmas = frozenset(cues)
    else:                               # bare lemmas, matched on a parser's lemma_ (English)
        lemmas = frozenset(str(c).lower() for c in cues)
        forms = [((c,), c) for c in lemmas]
    forms = sorted(set(forms), key=lambda f: -len(f[0]))

    def words(key: str) -> frozenset[str]:
        return frozenset(" ".join(_seq(str(w), cmap)) for w in d.get(key) or [])

    groups: dict[str, str] = {}
    for group in d.get("role_synonyms") or []:
        forms_ = [" ".join(_seq(str(w), cmap)) for w in group]
        for w in forms_:
            groups.setdefault(w, forms_[0])

    return RuleSet(
        language=d.get("language", language),
        quote_pairs=dict(d.get("quote_pairs") or {}),
        cue_forms=tuple(forms),
        cue_lemmas=lemmas,
        cue_particles={k: frozenset(v) for k, v in (d.get("cue_particles") or {}).items()},
        object_content_verbs={k: frozenset(v or []) for k, v in (d.get("object_content_verbs") or {}).items()},
        prefix_cues=tuple(sorted((_seq(p, cmap) for p in d.get("prefix_cues") or []), key=len, reverse=True)),
        complementizers=words("complementizers"),
        pronouns=words("pronouns"),
        resolvable_pronouns=words("resolvable_pronouns"),
        impersonal_subjects=words("impersonal_subjects"),
        stop_words=words("speaker_stop_words"),
        name_introducers=tuple(_seq(p, cmap) for p in d.get("name_introducers") or []),
        honorifics=words("honorifics"),
        role_nouns=words("role_nouns"),
        generic_nouns=words("generic_nouns"),
        label_stop_words=words("label_stop_words"),
        char_map=cmap,
        generic_determiners=words("generic_determiners"),
        org_nouns=words("org_nouns"),
        document_nouns=words("document_nouns"),
        document_cues=words("document_cues"),
        demonstratives=words("demonstratives"),
        role_groups=groups,
        cue_not_with_xcomp=words("cue_not_with_xcomp"),
        role_prefixes=words("role_prefixes"),
        singular_indefinites=words("singular_indefinites"),
        dash_cues=tuple(str(x) for x in d.get("dash_cues") or []),
        head_last=d.get("noun_phrase_head") == "last",
        title_words=words("title_words"),
        appositive_continuations=words("appositive_continuations"),
        gender_words=_gendered(d.get("gender_words"), cmap),
        pronoun_gender=_gendered(d.get("pronoun_gender"), cmap),
        carrier_verbs=words("carrier_verbs"),
        carrier_prefixes=tuple(_seq(p, cmap) for p in d.get("carrier_prefixes") or []),
        scare_quote_words=int(d.get("scare_quote_words") or 0),
    )


def _joined_variants(seq: tuple[str, ...], prefixes: list[str], suffixes: list[str]) -> list[tuple[str, ...]]:
    """A form written without its ZWNJ: "می گوید" is also "میگوید", "گفته اند" also "گفتهاند"
    (``joined_prefixes`` / ``joined_suffixes`` in the rule file: pages that lost their ZWNJ)."""
    out = []
    for k in range(len(seq) - 1):
        if seq[k] in prefixes or seq[k + 1] in suffixes:
            out.append(seq[:k] + (seq[k] + seq[k + 1],) + seq[k + 2:])
    if len(out) > 1:                 # both joins at once: "نمی گفته اند" → "نمیگفتهاند"
        cur = seq
        for k in range(len(seq) - 2, -1, -1):
            if cur[k] in prefixes or cur[k + 1] in suffixes:
                cur = cur[:k] + (cur[k] + cur[k + 1],) + cur[k + 2:]
        out.append(cur)
    return out


def _gendered(raw, cmap: dict[str, str]) -> dict[str, str]:
    """``{female: [ms, she], male: [mr, he]}`` → ``{"ms": "female", …}`` (normalised words)."""
    out: dict[str, str] = {}
    for gender, ws in (raw or {}).items():
        for w in ws or []:
            out[" ".join(_seq(str(w), cmap)).rstrip(".")] = str(gender)
    return out


def normalize(text: str, char_map: dict[str, str] | None = None) -> str:
    """Lower-case, map variant letters, blank out ZWNJ/bidi controls — one char for one char."""
    out = []
    cmap = char_map or {}
    for ch in text:
        ch = cmap.get(ch, ch)
        if ch in BIDI:
            ch = " "
        low = ch.lower()
        out.append(low if len(low) == 1 else ch)
    return "".join(out)


def tokens(norm: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, str]]:
    """Word tokens of the normalised text (offsets into the original)."""
    end = len(norm) if end is None else end
    return [(m.start(), m.end(), m.group()) for m in WORD.finditer(norm, start, end)]


def match_seq(toks: list[tuple[int, int, str]], i: int, seq: tuple[str, ...]) -> bool:
    if i + len(seq) > len(toks):
        return False
    return all(toks[i + k][2].rstrip(".") == seq[k] for k in range(len(seq)))


# ---------------------------------------------------------------- verb-final (SOV) engine

PUNCT_ONLY = re.compile(r"^[\s:،,\-–—\u200f\u200e]*$")


@dataclass
class _Cue:
    start: int
    end: int
    lemma: str
    tok_index: int
    tok_end: int


def _cues(toks, rules: RuleSet, inside) -> list[_Cue]:
    out = []
    i = 0
    while i < len(toks):
        if inside(toks[i][0]):
            i += 1
            continue
        for seq, lemma in rules.cue_forms:
            if match_seq(toks, i, seq):
                j = i + len(seq)
                end = toks[j - 1][1] - (1 if toks[j - 1][2].endswith(".") else 0)
                out.append(_Cue(toks[i][0], end, lemma, i, j))
                i = j - 1
                break
        i += 1
    return out


def pick_subject(text: str, norm: str, s: int, e: int, rules: RuleSet) -> tuple[int, int] | None:
    """The subject noun phrase at the head of a verb-final clause, as written.

    "بهرام نیکزاد، رئیس شورای عالی امنیت، … مدعی شد" → "بهرام نیکزاد": the first comma chunk
    (after any "به گزارش X،" prefix chunk), cut at the first preposition or time word; a name
    introduced by "به نام X" wins over the role noun before it.
    """
    # "لایه اول: طراحان …: وزیر کشور … فرمودند": a label's colon ends what came before, so the
    # clause starts after the last one — unless a quotation follows it ("او نوشت: «…» وی تاکید
    # کرد": that colon opened a statement). Quotation marks themselves do not cut: Persian copy
    # marks names and terms with them («کاوه رادمنش» استاندار ورمان …).
    cut = norm.rfind(":", s, e)
    if cut >= 0 and not any(c in norm[cut:e] for c in rules.quote_pairs):
        s = cut + 1
    toks = tokens(norm, s, e)
    if not toks:
        return None
    for k in range(len(toks)):
        for seq in rules.name_introducers:
            if match_seq(toks, k, seq):
                j = k + len(seq)
                name = []
                while j < len(toks) and len(name) < 4 and not _comma_between(norm, toks[j - 1][1], toks[j][0]):
                    name.append(toks[j])
                    j += 1
                    if j < len(toks) and _comma_between(norm, toks[j - 1][1], toks[j][0]):
                        break
                if name:
                    return name[0][0], name[-1][1]
    # split into comma chunks; skip chunks opened by a prefix cue ("به گزارش ایسنا،")
    chunks: list[list[tuple[int, int, str]]] = [[]]
    for k, t in enumerate(toks):
        if k and _comma_between(norm, toks[k - 1][1], t[0]):
            chunks.append([])
        chunks[-1].append(t)
    for ch in chunks:
        if any(match_seq(ch, 0, p) for p in rules.prefix_cues):
            continue
        if ch[0][2] in rules.stop_words:     # "در این باره، X گفت": an adverbial chunk, not the subject
            continue
        words = []
        for t in ch:
            # "یکی از دانشجویان": a preposition right after a quantifier belongs to the subject
            if t[2] in rules.stop_words and not (words and words[-1][2] in rules.generic_determiners):
                break
            if words and t[2].isdigit():   # "وزیر کشور ۱۱ مهرماه فرمودند": a date ends the subject
                break
            words.append(t)
            if len(words) >= 5:   # names + a title rarely run longer; longer means we lost the NP
                break
        if words:
            return words[0][0], words[-1][1]
        return None
    return None


def _comma_between(norm: str, a: int, b: int) -> bool:
    gap = norm[a:b]
    return "،" in gap or "," in gap or ":" in gap


def classify(span_text_norm: str, rules: RuleSet) -> str:
    """"pronoun", "nominal" (a role noun without a name), "org" (a body: "خبرگزاری کاوران"),
    "generic" (a quantified or collective source: "یکی از دانشجویان") or "named"."""
    words = [w.rstrip(".") for w in span_text_norm.split()]
    if not words:
        return "none"
    if " ".join(words) in rules.pronouns or words[0] in rules.pronouns and len(words) == 1:
        return "pronoun"
    if any(w in rules.generic_determiners for w in words[:3]):
        return "generic"
    if words[0] in rules.demonstratives and len(words) > 1:
        words = words[1:]
    if rules.head_last:                  # English: the head is the last word ("Former envoy")
        heads = [words[-1], " ".join(words[-2:])]
    else:                                # Persian: the head comes first ("وزیر کشور")
        heads = [words[0], " ".join(words[:2])]
    if any(h in rules.role_nouns for h in heads):
        return "nominal"
    if any(h in rules.org_nouns for h in heads):
        return "org"
    if any(w in rules.generic_nouns for w in words) or " ".join(words[:2]) in rules.generic_nouns:
        return "generic"
    return "named"


def extract_with_rules(text: str, rules: RuleSet) -> list[QuoteFinding]:
    """Quotes and reported speech for a verb-final language, from the rule file alone."""
    if not text or not text.strip():
        return []
    norm = normalize(text, rules.char_map)
    quotes = find_quotes(text, rules.quote_pairs)
    q_opens = [q.open for q in quotes]

    def inside(pos: int) -> bool:
        k = bisect.bisect_right(q_opens, pos) - 1
        return k >= 0 and quotes[k].open <= pos <= quotes[k].close

    findings: list[QuoteFinding] = []
    used_quotes: set[int] = set()
    closes = {q.close for q in quotes if q.closed}
    spans = _merge_trailing_cues(text, sentences(text, quotes), closes, q_opens)
    para_ends = paragraph_ends(text)
    sent_cues = [_cues(tokens(norm, s, e), rules, inside) for s, e in spans]
    # sentences that open a statement of their own ("X افزود: …"): a colon statement before one
    # ends where it starts
    colon_starts = [s for (s, e), cs in zip(spans, sent_cues) if any(_colon_after(text, c.end, e) for c in cs)]
    covered_to = -1                    # end of the last colon statement: its sentences are its content
    for (s, e), cues in zip(spans, sent_cues):
        toks = tokens(norm, s, e)
        sq = [k for k in range(bisect.bisect_left(q_opens, s), len(quotes)) if quotes[k].open < e]
        if s < covered_to and not cues:
            used_quotes.update(sq)     # term marks inside "X گفت: …" belong to that statement
            continue
        carrier = None
        # 1. prefix cues: "به گفته X، CONTENT"; a carrier prefix ("به گزارش ایسنا،") before a
        # cue of its own sentence only relays that cue's statement
        for i, t in enumerate(toks):
            if inside(t[0]):
                continue
            for p in rules.prefix_cues:
                if not match_seq(toks, i, p):
                    continue
                if p in rules.carrier_prefixes and any(c.start > t[0] for c in cues):
                    comma = _next_comma(norm, toks[i + len(p) - 1][1], e)
                    if comma is not None:
                        carrier = trim_span(text, toks[i + len(p) - 1][1], comma)
                    break
                cs, ce = t[0], toks[i + len(p) - 1][1]
                comma = _next_comma(norm, ce, e)
                if comma is None:
                    break
                sp = trim_span(text, ce, comma)
                content = trim_span(text, comma + 1, e)
                content = (content[0], _strip_final_stop(text, *content))
                if content[1] > content[0] and sp[1] > sp[0]:
                    findings.append(_finding(text, norm, rules, content, "indirect", (cs, ce), sp, 0.8))
                break
        # 2. cues
        n_before = len(findings)
        covered_from = len(text)
        for c in cues:
            if covered_from <= c.start < covered_to:
                continue               # a cue word inside the statement a colon opened
            after = norm[c.end:e]
            colon = _colon_after(text, c.end, e)
            if colon is not None and not any(quotes[k].open >= c.end and PUNCT_ONLY.match(text[c.end:quotes[k].open])
                                             for k in sq):
                # "X گفت: CONTENT" with no quotation marks: the statement runs to the paragraph's
                # end, or to the next sentence that opens a statement of its own
                pe = para_ends[bisect.bisect_left(para_ends, colon)]
                k = bisect.bisect_right(colon_starts, colon)
                stop = min(pe, colon_starts[k]) if k < len(colon_starts) else pe
                content = trim_span(text, colon + 1, stop)
                if content[1] - content[0] >= 3:
                    covered_from, covered_to = content[0], content[1]
                    used_quotes.update(range(bisect.bisect_left(q_opens, content[0]),
                                             bisect.bisect_left(q_opens, content[1])))
                    sp = pick_subject(text, norm, s, c.start, rules)
                    findings.append(_finding(text, norm, rules, content, "direct", (c.start, c.end), sp, 0.8))
                    continue
            # direct quote right after the cue: "X گفت: «…»"
            qk = next((k for k in sq if quotes[k].open >= c.end and PUNCT_ONLY.match(text[c.end:quotes[k].open])), None)
            if qk is not None:
                q = quotes[qk]
                used_quotes.add(qk)
                sp = pick_subject(text, norm, s, c.start, rules)
                findings.append(_finding(text, norm, rules, (q.start, q.end), "direct", (c.start, c.end), sp,
                                         0.9 if q.closed else 0.6))
                continue
            # direct quote right before the cue: "«…» X گفت" / "«…»، گفت X"
            qk = next((k for k in reversed(sq) if quotes[k].close < c.start and k not in used_quotes), None)
            if qk is not None:
                q = quotes[qk]
                between = trim_span(text, q.close + 1, c.start)
                between = (between[0] + len(re.match(r"[\s،,:\-–—]*", text[between[0]:between[1]]).group()), between[1])
                if between[1] - between[0] < 60 and not any(inside(x) for x in range(between[0], between[1], 8)):
                    sp = (pick_subject(text, norm, between[0], between[1], rules) if between[1] > between[0]
                          else pick_subject(text, norm, c.end, e, rules))
                    used_quotes.add(qk)
                    findings.append(_finding(text, norm, rules, (q.start, q.end), "direct", (c.start, c.end), sp, 0.8))
                    continue
            # indirect: "X … گفت که CONTENT"
            m = re.match(r"[\s:،,]*(\S+)", after)
            if m and m.group(1) in rules.complementizers:
                cstart = c.end + m.end()
                content = trim_span(text, cstart, e)
                content = (content[0], _strip_final_stop(text, *content))
                if content[1] - content[0] < 3:
                    continue
                inner = [k for k in sq if quotes[k].open >= content[0] and quotes[k].close <= content[1]]
                used_quotes.update(inner)
                sp = pick_subject(text, norm, s, c.start, rules)
                findings.append(_finding(text, norm, rules, content, "mixed" if inner else "indirect",
                                         (c.start, c.end), sp, 0.8))
        if carrier is not None and carrier[1] > carrier[0]:
            for f in findings[n_before:]:
                f.carrier, f.carrier_start, f.carrier_end = text[carrier[0]:carrier[1]], carrier[0], carrier[1]
        # 3. quotes left over in this sentence: a dash attribution, else no cue to hang them on
        for k in sq:
            if k in used_quotes:
                continue
            used_quotes.add(k)
            q = quotes[k]
            dash = dash_attribution(text, q, rules)
            if dash is not None:
                findings.append(_finding(text, norm, rules, (q.start, q.end), "direct", dash[0], dash[1], 0.8))
                continue
            f = QuoteFinding(start=q.start, end=q.end, kind="direct", language=rules.language,
                             reason="no cue verb or speaker near the quote", confidence=0.3)
            findings.append(f)
    return merge_findings(text, findings, label_findings(text, rules, quotes), rules.quote_pairs, rules.pronouns)


# A paragraph-initial label of one to four words before a colon. Each word takes its whole run of
# word characters (``*+``): as ``*``, a paragraph opening with n letters and no colon was tried
# split into up to four words in ~n⁴/24 ways (200 letters: 9 s, 1,000: minutes, 100,000: never).
# The labels found are the same: a word cut inside its run leaves a character there that neither
# the space nor the colon can take, only a next word, and joining the two is a match with fewer
# words that the engine tries first (a longer word first); so no first match ever cut a run. The
# prefix and the space after the colon are possessive too: their classes are disjoint from what
# follows them, so giving characters back never helped.
LABEL = re.compile(r"^[^\w\n]{0,3}+((?:[^\W\d_][\w.'’\-]*+\s?){1,4}):\s*+(\S)", re.MULTILINE)
# Words allowed lower-case inside an English "Label:" speaker ("Minister of State", "Kavaran's …").
LABEL_CONNECTORS = {"of", "the", "and", "for", "de", "al", "von", "van", "'s", "’s"}


def plausible_label(text: str, norm: str, label: tuple[int, int], rules: RuleSet) -> bool:
    """Whether a paragraph-initial "Label:" can be a speaker: not a section label ("Analysis",
    "یادداشت"), not a pronoun or a clause ("It means", "نیکزاد افزود" — the cue engine takes
    those), and in English a name (every word capitalised) or a role ("Former envoy")."""
    words = [w.rstrip(".") for w in norm[label[0]:label[1]].split()]
    if not words or len(words) > 4 or words[0] in rules.label_stop_words \
            or " ".join(words) in rules.label_stop_words:
        return False
    if any(w in rules.pronouns or w in rules.impersonal_subjects for w in words):
        return False
    toks = tokens(norm, label[0], label[1])
    if any(match_seq(toks, k, seq) for k in range(len(toks)) for seq, _ in rules.cue_forms):
        return False
    if rules.head_last:
        raw = text[label[0]:label[1]].split()
        if not raw[0][:1].isupper():
            return False
        named = all(w[:1].isupper() or w.lower() in LABEL_CONNECTORS for w in raw)
        return named or classify(" ".join(words), rules) == "nominal"
    return True


def label_findings(text: str, rules: RuleSet, quotes: list[Quote]) -> list[QuoteFinding]:
    """Transcript and post style "Name: what they said" / "وزیر کشور: «…»" at a paragraph's
    start: the label is the speaker, the colon the cue, the rest of the paragraph (or the
    quotation right after the colon) the content. See :func:`plausible_label` for what may be
    a speaker; "Update:", "Analysis:", "Photo:" never are."""
    out = []
    norm = normalize(text, rules.char_map)
    q_by_open = {q.open: q for q in quotes}
    for m in LABEL.finditer(text):
        label = trim_span(text, m.start(1), m.end(1))
        if not plausible_label(text, norm, label, rules):
            continue
        colon = m.end(1)  # LABEL puts the colon right after the label (slicing to find it copied the rest)
        q = q_by_open.get(m.start(2))
        if q is not None:
            content = (q.start, q.end)
        else:
            end = text.find("\n", m.start(2))
            content = trim_span(text, m.start(2), len(text) if end < 0 else end)
        if content[1] - content[0] < 15:      # "Note: see above": too short to be a statement
            continue
        if q is None and rules.head_last and classify(norm[label[0]:label[1]], rules) not in ("named", "nominal"):
            continue     # "The Rah-e Azadi Front: a cult run from abroad" — a topic, not a speaker
        out.append(_finding(text, norm, rules, content, "direct", (colon, colon + 1), label, 0.6))
    return out


def merge_findings(text: str, findings: list[QuoteFinding], labelled: list[QuoteFinding],
                   pairs: dict[str, str], pronouns: frozenset[str] = frozenset()) -> list[QuoteFinding]:
    """Cue findings plus the "Label:" findings that add something, each kept within its
    paragraph, one finding per content span, in text order.

    A label whose content a cue finding already covers ("Afkham tells forum: the Front …" next
    to the "tells" finding) is dropped; of findings with the same content span, the one with the
    highest confidence (then a speaker) stays."""
    cued = [(f.start, f.end) for f in findings if f.cue_start is not None]
    kept_labels = []
    for f in labelled:
        size = max(1, f.end - f.start)
        line = text.rfind("\n", 0, f.start) + 1
        # the same statement with its own cue on the label's line, outside the content
        if any(g.cue_start is not None and line <= g.cue_start and not (f.start <= g.cue_start < f.end)
               and "\n" not in text[min(g.cue_start, f.start):max(g.cue_start, f.start)]
               and min(f.end, g.end) - max(f.start, g.start) >= 0.5 * size for g in findings):
            continue
        # a heading, not a speaker: its "content" is itself a statement with its own speaker and
        # cue ("لایه اول: طراحان …: وزیر کشور فرمودند: «…»"); "Vallo: …, he said" keeps its label
        if any(g.cue_start is not None and g.speaker_start is not None and f.start <= g.speaker_start
               and g.cue_start < f.end and text[g.speaker_start:g.speaker_end].strip().lower() not in pronouns
               for g in findings):
            continue
        kept_labels.append(f)
    taken = {(f.start, f.end) for f in kept_labels}
    cued += [(f.start, f.end) for f in kept_labels]
    # a quotation nobody is said to have said, inside content someone is said to have said
    # ("according to Vallo, the reports are “a foreign-made illusion”"), is part of that statement
    out = [f for f in findings if f.cue_start is not None or ((f.start, f.end) not in taken and
           not any(s <= f.start and f.end <= e for s, e in cued))] + kept_labels
    out = [f for f in (clip_to_paragraph(text, f, pairs) for f in out) if f is not None]
    best: dict[tuple[int, int], QuoteFinding] = {}
    for f in out:
        k = (f.start, f.end)
        g = best.get(k)
        if g is None or (f.confidence, f.speaker_start is not None) > (g.confidence, g.speaker_start is not None):
            best[k] = f
    return sorted(best.values(), key=lambda f: (f.start, f.end))


def _para(ends: list[int], pos: int) -> tuple[int, int]:
    """(start, end) of the paragraph holding ``pos`` (``ends`` from :func:`paragraph_ends`)."""
    k = bisect.bisect_left(ends, pos)
    return (ends[k - 1] + 1 if k else 0), ends[min(k, len(ends) - 1)]


def clip_to_paragraph(text: str, f: QuoteFinding, pairs: dict[str, str]) -> QuoteFinding | None:
    """Content and speaker never cross a line break, except the journalistic multi-paragraph
    quotation: a direct quote whose every inner paragraph break is followed by an opening mark.
    What crosses is cut to the cue's paragraph (else the paragraph the span starts in); a
    content left shorter than 3 characters drops the finding."""
    s, e = f.start, f.end
    if "\n" in text[s:e]:
        openers = tuple(pairs)
        breaks = [m.end() for m in re.finditer(r"\n\s*", text[s:e])]
        multi = f.kind == "direct" and all(text.startswith(openers, s + b) for b in breaks)
        if not multi:
            ends = paragraph_ends(text)
            anchor = f.cue_start if f.cue_start is not None else s
            ps, pe = _para(ends, anchor)
            if min(e, pe) <= max(s, ps):
                ps, pe = _para(ends, s)
            s, e = trim_span(text, max(s, ps), min(e, pe))
            e = _strip_final_stop(text, s, e) if f.kind != "direct" else e
            if e - s < 3:
                return None
            f.start, f.end = s, e
    if f.speaker_start is not None and "\n" in text[f.speaker_start:f.speaker_end]:
        ends = paragraph_ends(text)
        anchor = f.cue_start if f.cue_start is not None else f.speaker_end
        ps, pe = _para(ends, anchor)
        a, b = max(f.speaker_start, ps), min(f.speaker_end, pe)
        if b <= a:
            ps, pe = _para(ends, f.speaker_end - 1)
            a, b = max(f.speaker_start, ps), min(f.speaker_end, pe)
        a, b = trim_span(text, a, b)
        while b > a and text[b - 1] in ",،:;":
            b -= 1
        f.speaker_start, f.speaker_end, f.speaker_text = a, b, text[a:b]
        if f.speaker_name_start is not None and not (a <= f.speaker_name_start and f.speaker_name_end <= b):
            f.speaker_name_start = f.speaker_name_end = None
    return f


@cache
def dash_pattern(cues: tuple[str, ...]) -> re.Pattern:
    """A dash cue, then one to four words ending the line (for :func:`dash_attribution`).

    The words are possessive (``*+``) for LABEL's reason: as ``*``, a 115-letter name that does
    not end the line took 1.5 s per quotation. The first match is the same: the engine tries a
    longer word first, and a word cut inside its run only re-creates a match a longer word has."""
    return re.compile(r"[\s\u00a0]*(" + "|".join(map(re.escape, cues)) +
                      r")[\s\u00a0]*((?:[^\W\d_][\w.'’\-]*+[\s\u00a0]?){1,4}?)[\s\u00a0.]*(?:\n|$)")


def dash_attribution(text: str, q: Quote, rules: RuleSet) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Epigraph style "“…” ― Sonya Herridge": a dash right after the closing mark, then one to
    four words (capitalised, in a cased script) ending the line. Returns (cue span, speaker span)."""
    if not rules.dash_cues or not q.closed:
        return None
    m = dash_pattern(rules.dash_cues).match(text[q.close + 1:q.close + 120])
    if not m:
        return None
    a, b = trim_span(text, q.close + 1 + m.start(2), q.close + 1 + m.end(2))
    words = text[a:b].split()
    if not words or (rules.head_last and not all(w[:1].isupper() for w in words)):
        return None
    return (q.close + 1 + m.start(1), q.close + 1 + m.end(1)), (a, b)


# A sentence this short right after a quotation that ends a sentence is its attribution
# ("«…» فرهاد رنجبر گفت."). 60 characters holds a name, a title and a verb.
TRAILING_CUE_CHARS = 60


def _merge_trailing_cues(text, spans, closes, q_opens):
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out:
            ps, pe = out[-1]
            k = pe - 1
            while k > ps and text[k] in ".!?؟… ":
                k -= 1
            if (k in closes and e - s <= TRAILING_CUE_CHARS and "\n" not in text[pe:s]
                    and bisect.bisect_left(q_opens, s) == bisect.bisect_left(q_opens, e)):
                out[-1] = (ps, e)
                continue
        out.append((s, e))
    return out


_COLON = re.compile(r"[\s\u00a0" + BIDI + r"]*:")


def _colon_after(text: str, pos: int, e: int) -> int | None:
    """Offset of a colon right after a cue ("گفت:"), within the sentence, else None."""
    m = _COLON.match(text, pos, e)
    return m.end() - 1 if m else None


def _next_comma(norm: str, a: int, e: int) -> int | None:
    m = re.compile(r"[،,]").search(norm, a, min(e, a + 120))
    return m.start() if m else None


def _strip_final_stop(text: str, s: int, e: int) -> int:
    while e > s and text[e - 1] in ".!?؟…;؛ ":
        e -= 1
    return e


def _finding(text, norm, rules, content, kind, cue, sp, conf) -> QuoteFinding:
    f = QuoteFinding(start=content[0], end=content[1], kind=kind, language=rules.language,
                     cue=text[cue[0]:cue[1]], cue_start=cue[0], cue_end=cue[1], confidence=conf)
    if sp and sp[1] > sp[0]:
        f.speaker_start, f.speaker_end = sp
        f.speaker_text = text[sp[0]:sp[1]]
        f.resolution = classify(norm[sp[0]:sp[1]], rules)   # a hint; speakers.py settles it
    else:
        f.reason = "cue verb with no speaker before it"
    return f
