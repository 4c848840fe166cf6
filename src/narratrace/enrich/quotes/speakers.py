"""Within-document speaker resolution: "he", "وی", "the former ambassador", "Vallo" → a name.

One document at a time, left to right, no model: a pronoun resolves to the last named person
mentioned before it; a nominal ("the minister", "وزیر کشور") to the last named person who was
introduced with that role noun; a bare surname ("Vallo", "Ms. Afkham") to the earlier full name
ending with it; a named speaker to itself. What cannot be resolved keeps speaker_name None and
says why in ``reason``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from .model import QuoteFinding
from .rules import RuleSet, normalize, tokens

# How far before a name we look for its title ("former Norland ambassador Henrik Vallo"), in
# tokens, and how long an appositive after it may be ("Henrik Vallo, former Norland ambassador
# to Kavaran,"), in characters. Set by reading the demo corpus and PolNeAR dev titles: titles run
# 1–5 words before a name; 90 characters holds the longest appositive in the demo corpus.
ROLE_WINDOW_TOKENS = 5
APPOSITIVE_CHARS = 90
# How far after a role-only speaker ("the Norland envoy said") the person it names may first be
# named ("Anna Kowal made the comment"), in characters: the lede-then-name pattern of
# campaign-dev's agency copy is one sentence (120–250 characters); a paragraph more would reach
# other people.
ROLE_LOOKAHEAD_CHARS = 300
# Where a story's lede ends, in characters from the start of the text: the headline (often twice,
# as pages repeat it) and the first paragraph or two on campaign-dev.
LEDE_CHARS = 800
# The longest title between a name and the comma after it in the Persian pattern "name title، …"
# ("دادستان کل جمهوری ورمان،"): ~40 characters on campaign-dev; 60 leaves room.
TITLE_CHARS = 60
# How far back the organisation a document speaks for may have spoken ("The rights council stated … .
# The report added …"): two or three news paragraphs on campaign-dev.
ISSUER_CHARS = 800

GENERIC_REASON = "generic speaker (not a named person)"


@dataclass
class Mention:
    start: int
    end: int
    name: str                    # canonical full name (after surname resolution)
    roles: set[str] = field(default_factory=set)
    salient: bool = True         # a clause subject or a speaker, not an object or a name in passing
    gender: str | None = None    # "female" / "male" when the text says so (Ms., spokeswoman, "X herself")


def _words(norm: str) -> list[str]:
    return [w.rstrip(".") for w in norm.split()]


def strip_honorifics(text: str, start: int, end: int, rules: RuleSet) -> tuple[int, int]:
    """Drop leading determiners, honorifics and title words: "former US Ambassador Adam Ereli"
    keeps "US Ambassador Adam Ereli" → … → "Adam Ereli" only when what is left still has words.
    Only the span is normalised: normalising the whole document per mention was quadratic (a
    50k-character page of quotes took 55 s)."""
    norm = normalize(text[start:end], rules.char_map)
    toks = [(a + start, b + start, w) for a, b, w in tokens(norm)]
    drop = _drop_words(rules)
    k = 0
    while k < len(toks) - 1 and toks[k][2].rstrip(".") in drop:
        k += 1
    if not toks:
        return start, end
    return toks[k][0], toks[-1][1]


_DROP: dict[int, set[str]] = {}


def _drop_words(rules: RuleSet) -> set[str]:
    key = id(rules)
    if key not in _DROP:
        _DROP[key] = {d.rstrip(".") for d in rules.honorifics | rules.role_nouns | {"the", "a", "an", "former", "us", "u.s."}}
    return _DROP[key]


def title_words(text: str, norm: str, start: int, end: int, rules: RuleSet) -> list[str]:
    """The words that describe a mention: its title before it and an appositive right after it.

    Where noun phrases end in their head (English), a title is only what is written right against
    the name ("Iranian Interior Minister Ahmad Vahidi"): the run of capitalised words, honorifics,
    role nouns and role prefixes before it, so "Interior minister says rioters exploited Amini's
    death" gives "Amini" no title. An appositive is a noun phrase, not a clause: in "Mahsa Amini,
    the Leader said," the words after the role are a verb, so the role is not hers (see
    ``appositive_continuations``)."""
    before = tokens(norm, max(0, start - 80), start)[-ROLE_WINDOW_TOKENS:]
    if rules.head_last:
        keep: list = []
        gap = norm[before[-1][1]:start] if before else ""
        if gap.strip(" \u00a0"):       # "…said, Vallo": punctuation between title and name
            before = []
        for t in reversed(before):
            w = t[2].rstrip(".")
            if not (text[t[0]:t[0] + 1].isupper() or w in rules.role_nouns or w in rules.honorifics
                    or f"{w}." in rules.honorifics or w in rules.role_prefixes or w in rules.title_words):
                break
            if keep and norm[t[1]:keep[-1][0]].strip(" \u00a0"):
                break
            keep.append(t)
        before = keep[::-1]
    words = [t[2].rstrip(".") for t in before]
    m = re.match(r"\s*[,،]\s*", norm[end:end + 4])
    if not m and not rules.head_last:
        m = re.match(r"\s+", norm[end:end + 4])     # "منتظری دادستان کل کشور": the title follows the name
    if m:
        tail = norm[end + m.end(): end + m.end() + APPOSITIVE_CHARS]
        tail = _words(re.split(r"[,،.;:؛\n]", tail, maxsplit=1)[0])
        if rules.head_last and rules.appositive_continuations:
            # the appositive's words up to its head role noun, kept only when what follows the
            # head can continue a noun phrase ("ambassador to Kavaran"), not when it is a verb
            for k, w in enumerate(tail):
                if w in rules.role_nouns or w in rules.gender_words:
                    nxt = tail[k + 1] if k + 1 < len(tail) else None
                    if nxt is not None and nxt not in rules.appositive_continuations \
                            and nxt not in rules.role_nouns:
                        tail = []
                    break
        words += tail
    return words


def roles_near(norm: str, start: int, end: int, rules: RuleSet, text: str | None = None) -> set[str]:
    """Role nouns in the title before a mention and in an appositive right after it."""
    return role_set(title_words(text if text is not None else norm, norm, start, end, rules), rules)


def gender_near(text: str, norm: str, start: int, end: int, rules: RuleSet) -> str | None:
    """The gender the text gives a mention: a gendered title or honorific ("Ms", "spokeswoman",
    "خانم"), a gendered noun in its appositive ("Marr, a 22-year-old woman,"), or a reflexive
    right after it ("Amini herself"). None when the words say nothing or disagree."""
    words = title_words(text, norm, start, end, rules)
    words += [w for w in _words(norm[start:end]) if w in rules.honorifics or f"{w}." in rules.honorifics]  # "Ms Marr"
    after = tokens(norm, end, min(len(norm), end + 12))[:1]
    words += [t[2] for t in after if t[2] in rules.pronoun_gender]
    found = {rules.gender_words.get(w) or rules.pronoun_gender.get(w) for w in words} - {None}
    return found.pop() if len(found) == 1 else None


def role_set(words: list[str], rules: RuleSet) -> set[str]:
    """Canonical roles named by these words: synonyms folded ("envoy" → "ambassador"), and a role
    after a ``role_prefixes`` word kept distinct ("deputy minister" is not "minister")."""
    found = set()
    for k, w in enumerate(words):
        two = f"{w} {words[k + 1]}" if k + 1 < len(words) else ""
        for r in (w, two):
            if r and r in rules.role_nouns:
                prefix = next((x for x in words[max(0, k - 2):k] if x in rules.role_prefixes), None)
                found.add(f"{prefix} {rules.role(r)}" if prefix else rules.role(r))
    return found


def head_words(norm_span: str) -> list[str]:
    """The noun phrase at the head of a speaker span, before an appositive or relative clause:
    "the former envoy, who served in dastgerd" → [the, former, envoy]."""
    head = re.split(r"[,،;(]|\s(?:who|which|that|whose)\s", norm_span, maxsplit=1)[0]
    return _words(head)


def appositive_names(text: str, rules: RuleSet) -> list[tuple[int, int]]:
    """Named people found by shape alone, for languages without NER: "کوروش توانا، وزیر کشور،"
    — one to four words between delimiters, followed by a comma and a role noun."""
    norm = normalize(text, rules.char_map)
    out = []
    for m in re.finditer(r"[,،]\s*", norm):
        head = tokens(norm, m.end(), min(len(norm), m.end() + 40))[:2]
        if not head or not ({head[0][2]} | {" ".join(t[2] for t in head)}) & rules.role_nouns:
            continue
        seg_start = max(norm.rfind(d, 0, m.start()) for d in ",،.:؛\n«»")
        toks = tokens(norm, seg_start + 1, m.start())
        if not 2 <= len(toks) <= 4:
            continue
        if any(t[2] in rules.stop_words or t[2] in rules.role_nouns or t[2] in rules.pronouns for t in toks):
            continue
        out.append((toks[0][0], toks[-1][1]))
    if not rules.head_last:
        out += _name_then_title(norm, rules)
    return sorted(set(out))


def _name_then_title(norm: str, rules: RuleSet) -> list[tuple[int, int]]:
    """Head-first languages also introduce a person as "name title، …" with no comma between:
    "کاوه رادمنش دادستان کل ورمان، در …" — two to four words opening a sentence, then a role
    noun, then a comma closing the title within TITLE_CHARS (so a clause is not taken for one)."""
    out = []
    honorific = {w for h in rules.honorifics for w in h.split()}
    for m in re.finditer(r"(?:^|[.!?؟\n])\s*", norm):
        toks = tokens(norm, m.end(), min(len(norm), m.end() + 160))
        while toks and toks[0][2] in honorific:   # "حجت الاسلام والمسلمین X Y دادستان …"
            toks = toks[1:]
        for k in range(2, min(5, len(toks))):
            w, two = toks[k][2], " ".join(t[2] for t in toks[k:k + 2])
            if w not in rules.role_nouns and two not in rules.role_nouns:
                continue
            name = toks[:k]
            stop = norm.find("\n", toks[k][0])
            comma = re.search(r"[,،]", norm[toks[k][0]:toks[k][0] + TITLE_CHARS])
            if comma and (stop < 0 or toks[k][0] + comma.start() < stop) and not any(
                    t[2] in rules.stop_words or t[2] in rules.role_nouns or t[2] in rules.pronouns or t[2].isdigit()
                    for t in name):
                out.append((name[0][0], name[-1][1]))
            break
    return out


class Resolver:
    """Named mentions of one document, in order, with the roles they were introduced with."""

    def __init__(self, text: str, rules: RuleSet, spans: list[tuple], is_alias=None):
        self.text = text
        self.is_alias = is_alias
        self.rules = rules
        self.norm = normalize(text, rules.char_map)
        self._name_words: dict[str, list[str]] = {}
        self.mentions: list[Mention] = []
        self.unnamed: list[int] = []     # where a single unnamed person spoke ("the deputy minister")
        self.orgs: list[tuple[int, str, int, int]] = []     # organisations that spoke: (at, name, start, end)
        for sp in sorted(set(spans)):
            m = self.add(sp[0], sp[1])
            m.salient = bool(sp[2]) if len(sp) > 2 else True

    def canonical(self, s: int, e: int) -> str:
        """Full name for a surname-only mention ("Vallo" → "Henrik Vallo"), else the mention."""
        s, e = strip_honorifics(self.text, s, e, self.rules)
        name = self.text[s:e]
        words = _words(self.norm[s:e])
        if len(words) == 1:
            for m in reversed(self.mentions):
                mw = self.name_words(m.name)
                if len(mw) > 1 and mw[-1] == words[0]:
                    return m.name
        return name

    def name_words(self, name: str) -> list[str]:
        """Normalised words of a mention's name, memoised (asked once per earlier mention per lookup)."""
        if name not in self._name_words:
            self._name_words[name] = _words(normalize(name, self.rules.char_map))
        return self._name_words[name]

    def add(self, s: int, e: int) -> Mention:
        m = Mention(s, e, self.canonical(s, e), roles_near(self.norm, s, e, self.rules, self.text),
                    gender=gender_near(self.text, self.norm, s, e, self.rules))
        # keep the list ordered by start; spans arrive sorted, speakers may arrive later
        starts = [x.start for x in self.mentions]
        k = bisect.bisect_left(starts, s)
        if k < len(self.mentions) and self.mentions[k].start == s:
            self.mentions[k].roles |= m.roles
            return self.mentions[k]
        self.mentions.insert(k, m)
        for other in self.mentions:          # a role (a gender) known for one mention of a name holds for all
            if other.name == m.name:
                other.roles |= m.roles
                m.roles |= other.roles
                m.gender = m.gender or other.gender
        if m.gender:
            for other in self.mentions:
                if other.name == m.name:
                    other.gender = other.gender or m.gender
        return m

    def before(self, pos: int) -> list[Mention]:
        return [m for m in self.mentions if m.end <= pos]

    def resolve(self, f: QuoteFinding) -> None:
        if f.speaker_start is None:
            f.resolution = "none"
            if not f.reason:
                f.reason = "no cue verb or speaker near the quote"
            return
        s, e = f.speaker_start, f.speaker_end
        words = _words(self.norm[s:e])
        key = " ".join(words)
        kind = f.resolution if f.resolution in ("named", "pronoun", "nominal", "generic", "org") else "named"
        if key in self.rules.pronouns:
            kind = "pronoun"
        if kind in ("nominal", "generic", "org") and self.is_alias is not None:
            # the analyst's registry names this title ("the Leader", "دادستان کل کشور"): it outranks
            # any guess from the document; speaker_name is the title as written, which links
            for a, b in ((s, e), self._head_span(s, e)):
                if b > a and self.is_alias(self.text[a:b]):
                    f.speaker_name, f.speaker_name_start, f.speaker_name_end = self.text[a:b], a, b
                    f.resolution, f.reason = "nominal", None
                    if kind == "org":   # a registered body: "the ministry" / "it" may refer back to it
                        self.orgs.append((s, self.text[a:b], a, b))
                    self.mentions.insert(bisect.bisect_left([x.start for x in self.mentions], a),
                                         Mention(a, b, self.text[a:b], set(), True))
                    return
        if kind == "generic":
            if self._issuer(f, words):
                return
            if words and words[0] in self.rules.singular_indefinites:
                self.unnamed.append(s)       # "a shipping agent said … He added": not the last name
            return self._fail(f, GENERIC_REASON)
        if kind == "org" and len(words) == 1 and self._surname(words[0]):
            kind = "named"           # "Castell said" — a surname the NER took for a body
        if kind == "org":
            return self._org(f, words)
        if kind == "pronoun":
            if key not in self.rules.resolvable_pronouns:
                return self._fail(f, "plural or first-person pronoun: not one named person")
            prior = self.before(s)
            want = self.rules.pronoun_gender.get(key)
            if want:
                # "she said" never goes to a man: a mention whose gender the text gives otherwise
                # is skipped (unknown gender stays a candidate)
                prior = [m for m in prior if m.gender in (None, want)]
            if not prior:
                return self._fail(f, "pronoun with no preceding named person")
            salient = [m for m in prior if m.salient]
            m = (salient or prior)[-1]
            if any(m.end <= p < s for p in self.unnamed):
                return self._fail(f, "pronoun after an unnamed speaker: not resolved to an earlier name")
            return self._set(f, m, "pronoun")
        if kind == "nominal":
            want = role_set(head_words(self.norm[s:e]), self.rules) or role_set(words, self.rules)
            for m in reversed(self.before(s)):
                if m.roles & want:
                    return self._set(f, m, "nominal")
            if "\n" not in self.text[:s]:
                # a headline names the role ("Former envoy: …"), the lede the person: look ahead
                for m in self.mentions:
                    if m.start >= e and m.roles & want:
                        return self._set(f, m, "nominal")
            # a lede names the role, the next sentence the person: "The Foreign Ministry spokesman
            # has condemned … . Henrik Vallo made the remarks …" — in the lede only, the first name
            # after it, close by and without another role of its own, is that person (and keeps the
            # role for a later "the spokesman said"); deeper in a story the next name is anyone's
            nxt = next((m for m in self.mentions if m.start >= e), None)
            if s <= LEDE_CHARS and nxt is not None and nxt.start - e <= ROLE_LOOKAHEAD_CHARS \
                    and (not nxt.roles or nxt.roles & want) and self.text.count("\n", e, nxt.start) <= 2:
                for m in self.mentions:
                    if m.name == nxt.name:
                        m.roles |= want
                return self._set(f, nxt, "nominal")
            self.unnamed.append(s)
            return self._fail(f, "nominal mention with no matching named person before it")
        m = self.add(*self._name_span(f))
        m.salient = True
        self._set(f, m, "named")

    def _head_span(self, s: int, e: int) -> tuple[int, int]:
        """The speaker's head phrase before an appositive or relative clause, determiner dropped:
        "the spokesman, who …" → "spokesman"."""
        cut = re.search(r"[,،;(]|\s(?:who|which|that|whose)\s", self.norm[s:e])
        b = s + cut.start() if cut else e
        toks = tokens(self.norm, s, b)
        k = 0
        while k < len(toks) - 1 and toks[k][2] in ({"the"} | self.rules.demonstratives):
            k += 1
        return (toks[k][0], toks[-1][1]) if toks else (s, s)

    def _issuer(self, f: QuoteFinding, words: list[str]) -> bool:
        """"The report added …", "this statement said …", "it said …": a document (or "it")
        speaks for whoever issued it — the last organisation that spoke before, within
        ISSUER_CHARS. Never a person: "it" is not one, and a person's report is written "his report"."""
        definite = len(words) >= 2 and (words[0] in self.rules.demonstratives or words[0] in ("the", "its"))
        if not ((definite and words[-1] in self.rules.document_nouns) or words == ["it"]):
            return False
        prev = next((o for o in reversed(self.orgs) if o[0] < f.speaker_start
                     and f.speaker_start - o[0] <= ISSUER_CHARS), None)
        if prev is None:
            return False
        f.speaker_name, f.speaker_name_start, f.speaker_name_end = prev[1], prev[2], prev[3]
        f.resolution, f.reason = "nominal", None
        return True

    def _surname(self, word: str) -> bool:
        return any(len(mw) > 1 and mw[-1] == word
                   for mw in (self.name_words(m.name) for m in self.mentions))

    def _org(self, f: QuoteFinding, words: list[str]) -> None:
        """An organisation speaks: speaker_name is its phrase (leading determiner dropped);
        "this command" / "این فرماندهی" / "the ministry" takes the name of the last body that spoke
        whose name holds those words."""
        if f.speaker_name_start is not None:
            a, b = f.speaker_name_start, f.speaker_name_end
        else:
            toks = tokens(self.norm, f.speaker_start, f.speaker_end)
            k = 0
            while k < len(toks) - 1 and toks[k][2] in ({"the"} | self.rules.demonstratives):
                k += 1
            a, b = (toks[k][0], toks[-1][1]) if toks else (f.speaker_start, f.speaker_end)
        name = self.text[a:b]
        if len(words) > 1 and (words[0] in self.rules.demonstratives or words[0] == "the"):
            # "the ministry said" after "Norland's Foreign Ministry condemned …": the body named
            # before, as "this command" is — for "the", by the head noun (the last word), so "the
            # foreign office" is not the Foreign Ministry
            head = set(words[1:]) if words[0] != "the" else {words[-1]}
            for prev in reversed(self.orgs):
                if prev[0] < f.speaker_start and head & set(self.name_words(prev[1])):
                    a, b, name = prev[2], prev[3], prev[1]
                    break
        self.orgs.append((f.speaker_start, name, a, b))
        f.speaker_name, f.speaker_name_start, f.speaker_name_end = name, a, b
        f.resolution = "nominal"
        f.reason = None

    def _name_span(self, f: QuoteFinding) -> tuple[int, int]:
        if f.speaker_name_start is not None:       # the extractor found a PERSON inside the span
            return f.speaker_name_start, f.speaker_name_end
        a, b = strip_honorifics(self.text, f.speaker_start, f.speaker_end, self.rules)
        if not self.rules.head_last:
            # head-first languages write the title after the name with no comma: "محمدجعفر منتظری
            # دادستان کل کشور گفت" — the name ends before the first role noun
            toks = tokens(self.norm, a, b)
            for k in range(1, len(toks)):
                w, two = toks[k][2], " ".join(t[2] for t in toks[k:k + 2])
                if w in self.rules.role_nouns or two in self.rules.role_nouns:
                    return a, toks[k - 1][1]
        return a, b

    def _set(self, f: QuoteFinding, m: Mention, how: str) -> None:
        f.speaker_name = m.name
        f.speaker_name_start, f.speaker_name_end = m.start, m.end
        f.resolution = how
        f.reason = None
        if how in ("nominal", "pronoun") and f.speaker_start is not None:
            # "The former envoy said … He predicted …": the person is mentioned again here
            starts = [x.start for x in self.mentions]
            k = bisect.bisect_left(starts, f.speaker_start)
            if not (k < len(self.mentions) and self.mentions[k].start == f.speaker_start):
                self.mentions.insert(k, Mention(f.speaker_start, f.speaker_end, m.name, set(m.roles), True,
                                                 m.gender or self.rules.pronoun_gender.get(
                                                     " ".join(_words(self.norm[f.speaker_start:f.speaker_end])))))

    @staticmethod
    def _fail(f: QuoteFinding, why: str) -> None:
        f.speaker_name = f.speaker_name_start = f.speaker_name_end = None
        f.resolution = "none"
        f.reason = why


# How far after an attributed statement a quotation with no cue of its own still continues it, in
# characters and paragraphs: English direct quotes already did so (english.CONTINUE_CHARS, set on
# the demo corpus); campaign-dev's gold has the same shape after reported speech ("X commented
# …, blaming A and B. “I say clearly …”") and in Persian («… گفت: «…». «…»).
CONTINUE_CHARS = 300
CONTINUE_PARAGRAPHS = 1


def continue_statements(text: str, findings: list[QuoteFinding]) -> list[QuoteFinding]:
    """A quotation no cue claims, right after an attributed statement — within CONTINUE_CHARS, at
    most CONTINUE_PARAGRAPHS paragraph breaks on, no other quotation between — continues it and
    takes its cue and speaker (confidence 0.5, below any cue of its own). Run after scare quotes
    are dropped, so a term in quotation marks never gets a speaker this way."""
    prev = None
    for f in sorted(findings, key=lambda f: (f.start, f.end)):
        if f.cue_start is not None or f.speaker_start is not None:
            prev = f if f.speaker_name else None
            continue
        if prev is None or f.start - prev.end > CONTINUE_CHARS or f.start < prev.end \
                or text.count("\n", prev.end, f.start) > CONTINUE_PARAGRAPHS:
            prev = None
            continue
        for name in ("cue", "cue_start", "cue_end", "speaker_start", "speaker_end", "speaker_text", "speaker_name",
                     "speaker_name_start", "speaker_name_end", "resolution", "carrier", "carrier_start", "carrier_end"):
            setattr(f, name, getattr(prev, name))
        f.reason = "continues the attributed statement before it"
        f.confidence = min(f.confidence, 0.5)
    return findings


def resolve_speakers(text: str, findings: list[QuoteFinding], rules: RuleSet,
                     person_spans: list[tuple[int, int]] | None = None, is_alias=None) -> list[QuoteFinding]:
    """Resolve every finding's speaker in document order. ``person_spans`` are named people from
    NER when there is one; without it, appositive shapes ("X Y، وزیر …،") and the named speakers
    themselves are the mentions. ``is_alias(phrase)`` says whether the analyst's registry lists a
    phrase ("the Leader") as an alias: a titled speaker written so is that alias."""
    spans = list(person_spans) if person_spans is not None else appositive_names(text, rules)
    r = Resolver(text, rules, spans, is_alias)
    for f in sorted(findings, key=lambda f: (f.speaker_start if f.speaker_start is not None else f.start)):
        r.resolve(f)
    return findings
