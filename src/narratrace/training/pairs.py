"""NLI pairs the project generates itself, in English and Persian, from sentences of the
training data (never from test sets): the phenomena analysts' text is full of and the published
sets are thin on.

- negation: P ⟶ not-P is a contradiction both ways; a negated *entailed* hypothesis contradicts
  its premise; a negated *neutral* hypothesis stays neutral (so "not" alone is no shortcut);
- antonyms: a word swapped for its opposite (rose/fell, افزایش/کاهش) is a contradiction;
- changed numbers and years: "two" → "five", 2019 → 2021 is a contradiction;
- reported speech: "X claims that P" / «به ادعای X، P» does not commit the writer to P (neutral),
  and "X denied that P" does not either; a plain restatement P ⟶ P is entailment;
- negation on both sides: a negated statement entails itself, and P ⊨ H gives not-H ⊨ not-P
  (without these, "near-identical pair with a 'not' in it" is learnt as contradiction: an early
  checkpoint called "X has no support" vs itself a contradiction, p 0.58).

Every rule is a small table; each generator returns (premise, hypothesis, label, lang) tuples and
uses only the ``random.Random`` it is given, so a seed reproduces the set.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

Pair = tuple[str, str, str, str]  # premise, hypothesis, label, lang

# ---------------------------------------------------------------------------- English

_EN_AUX = [(r"\bis\b", "is not"), (r"\bare\b", "are not"), (r"\bwas\b", "was not"), (r"\bwere\b", "were not"),
           (r"\bcan\b", "cannot"), (r"\bwill\b", "will not"), (r"\bhas been\b", "has not been"),
           (r"\bhave been\b", "have not been"), (r"\bshould\b", "should not"), (r"\bmust\b", "must not")]
_EN_UNNEG = [(r"\bis not\b", "is"), (r"\bare not\b", "are"), (r"\bwas not\b", "was"), (r"\bisn't\b", "is"),
             (r"\baren't\b", "are"), (r"\bdoes not\b", "does"), (r"\bdid not\b", "did"), (r"\bcannot\b", "can")]
EN_ANTONYMS = [("increase", "decrease"), ("increased", "decreased"), ("rose", "fell"), ("rising", "falling"),
               ("won", "lost"), ("support", "oppose"), ("supports", "opposes"), ("supported", "opposed"),
               ("peaceful", "violent"), ("legal", "illegal"), ("true", "false"), ("accepted", "rejected"),
               ("confirmed", "denied"), ("open", "closed"), ("success", "failure"), ("strong", "weak"),
               ("rich", "poor"), ("young", "old"), ("inside", "outside"), ("happy", "sad"), ("wet", "dry"),
               ("full", "empty"), ("asleep", "awake"), ("standing", "sitting"), ("always", "never"),
               ("allowed", "banned"), ("safe", "dangerous"), ("growing", "shrinking"), ("hot", "cold"),
               ("friendly", "hostile"), ("legitimate", "illegitimate"), ("free", "imprisoned")]
EN_REPORTERS = ["The ministry", "State television", "A spokesman", "Officials", "The agency", "Critics",
                "The opposition", "Local media", "The government", "A witness", "Some reports", "The council"]
EN_FRAMES = ["{x} claims that {p}", "{x} claimed that {p}", "According to {x}, {p}", "{x} alleged that {p}",
             "{x} insists that {p}", "{x} said that {p}", "{x} denied that {p}", "{x} denies reports that {p}",
             "It is rumoured that {p}", "{x} spread the claim that {p}"]
_NUM_EN = "one two three four five six seven eight nine ten".split()

# ---------------------------------------------------------------------------- Persian

# (affirmative, negative) whole-word verb forms; a present/past form with the مي prefix is
# negated by «ن» before it, which the regex below covers.
FA_VERBS = [("است", "نیست"), ("هست", "نیست"), ("هستند", "نیستند"), ("بود", "نبود"), ("بودند", "نبودند"),
            ("دارد", "ندارد"), ("دارند", "ندارند"), ("داشت", "نداشت"), ("داشتند", "نداشتند"), ("شد", "نشد"),
            ("شدند", "نشدند"), ("کرد", "نکرد"), ("کردند", "نکردند"), ("شده", "نشده"), ("کرده", "نکرده"),
            ("باشد", "نباشد"), ("گرفت", "نگرفت"), ("داد", "نداد"), ("دادند", "ندادند"), ("رفت", "نرفت")]
_FA_MI = re.compile(r"(?<![\w\u200c])(می)(\u200c|\s)?(?=[\u0600-\u06FF])")
FA_ANTONYMS = [("افزایش", "کاهش"), ("موافق", "مخالف"), ("صلح‌آمیز", "خشونت‌آمیز"), ("قانونی", "غیرقانونی"),
               ("درست", "نادرست"), ("بزرگ", "کوچک"), ("قوی", "ضعیف"), ("ثروتمند", "فقیر"), ("پیروز", "شکست‌خورده"),
               ("زیاد", "کم"), ("بیشتر", "کمتر"), ("آزاد", "زندانی"), ("مثبت", "منفی"), ("آغاز", "پایان"),
               ("موفق", "ناموفق"), ("مجاز", "ممنوع"), ("دوست", "دشمن"), ("پذیرفت", "رد کرد"), ("قبل", "بعد")]
FA_REPORTERS = ["وزارت", "رسانه‌های دولتی", "سخنگو", "مقامات", "خبرگزاری", "منتقدان", "مخالفان", "دولت",
                "یک شاهد", "برخی گزارش‌ها", "شورا", "تلویزیون دولتی"]
FA_FRAMES = ["به ادعای {x}، {p}", "{x} مدعی شد که {p}", "{x} ادعا کرد که {p}", "به گفته {x}، {p}",
             "{x} گفت که {p}", "{x} اصرار دارد که {p}", "{x} تکذیب کرد که {p}", "گفته می‌شود {p}",
             "{x} مدعی است که {p}", "{x} این ادعا را مطرح کرد که {p}"]
_FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹"


def _strip_end(s: str) -> str:
    return s.strip().rstrip(".!؟?")


def _lower_first(s: str) -> str:
    """Lower-case the first letter unless the first word is an acronym ("UN", "NATO")."""
    return s if s[1:2].isupper() else s[:1].lower() + s[1:]


def negate_en(s: str) -> str | None:
    """One clause-level negation of an English sentence (first auxiliary, else un-negate), or None."""
    for pat, rep in _EN_UNNEG:
        if re.search(pat, s):
            return re.sub(pat, rep, s, count=1)
    for pat, rep in _EN_AUX:
        if re.search(pat, s):
            return re.sub(pat, rep, s, count=1)
    return None


def negate_fa(s: str) -> str | None:
    """Negate the last verb of a Persian sentence (Persian verbs come last): a whole-word form
    from ``FA_VERBS``, else the «می» prefix → «نمی», else None."""
    words = s.split(" ")
    for i in range(len(words) - 1, -1, -1):
        w = words[i].rstrip(".،؛!؟")
        tail = words[i][len(w):]
        for pos, neg in FA_VERBS:
            if w == pos:
                words[i] = neg + tail
                return " ".join(words)
            if w == neg:
                words[i] = pos + tail
                return " ".join(words)
        if w.startswith("نمی"):
            words[i] = w[1:] + tail
            return " ".join(words)
        if _FA_MI.match(w):
            words[i] = "ن" + w + tail
            return " ".join(words)
    return None


def swap_antonym(s: str, table: list[tuple[str, str]], rng: random.Random) -> str | None:
    hits = []
    for a, b in table:
        for x, y in ((a, b), (b, a)):
            if re.search(rf"(?<![\w\u200c]){re.escape(x)}(?![\w\u200c])", s):
                hits.append((x, y))
    if not hits:
        return None
    x, y = rng.choice(hits)
    return re.sub(rf"(?<![\w\u200c]){re.escape(x)}(?![\w\u200c])", y, s, count=1)


def change_number(s: str, rng: random.Random) -> str | None:
    """A number (digits in either script, a year, or an English number word) changed to another."""
    m = list(re.finditer(r"\d+|[۰-۹]+", s))
    if m:
        x = rng.choice(m)
        t = x.group()
        persian = t[0] in _FA_DIGITS
        v = int(t.translate(str.maketrans(_FA_DIGITS, "0123456789")))
        new = v + rng.choice([1, 2, 3, 5, 10, -1, -2]) if v > 2 else v + rng.choice([2, 3, 5])
        new = str(max(new, 0))
        if persian:
            new = new.translate(str.maketrans("0123456789", _FA_DIGITS))
        return s[:x.start()] + new + s[x.end():]
    for w in _NUM_EN:
        mm = re.search(rf"\b{w}\b", s, re.I)
        if mm:
            other = rng.choice([n for n in _NUM_EN if n != w])
            other = other.capitalize() if mm.group()[0].isupper() else other
            return s[:mm.start()] + other + s[mm.end():]
    return None


def reported(s: str, lang: str, rng: random.Random) -> str:
    frames, who = (EN_FRAMES, EN_REPORTERS) if lang == "en" else (FA_FRAMES, FA_REPORTERS)
    p = _strip_end(s)
    p = _lower_first(p) if lang == "en" else p
    return rng.choice(frames).format(x=rng.choice(who), p=p) + ("." if lang == "en" else ".")


def generate(rows: Iterable[tuple[str, str, str, str]], rng: random.Random, per_kind: int = 1500) -> list[Pair]:
    """Generated pairs from (premise, hypothesis, label, lang) training rows, up to ``per_kind``
    of each kind per language (kinds: negation, negated hypothesis, antonym, number, reported)."""
    rows = list(rows)
    rng.shuffle(rows)
    out: list[Pair] = []
    count: dict[tuple[str, str], int] = {}

    def add(kind: str, lang: str, p: str, h: str, label: str) -> None:
        key = (kind, lang)
        if count.get(key, 0) < per_kind and p and h and (p != h or kind == "restate"):
            count[key] = count.get(key, 0) + 1
            out.append((p, h, label, lang))

    neg = {"en": negate_en, "fa": negate_fa}
    ants = {"en": EN_ANTONYMS, "fa": FA_ANTONYMS}
    seen: set[str] = set()
    for prem, hyp, label, lang in rows:
        if lang not in neg:
            continue
        # sentence-level phenomena on the hypothesis (short, one claim), once per sentence
        if hyp not in seen:
            seen.add(hyp)
            n = neg[lang](hyp)
            if n:
                if rng.random() < 0.5:
                    add("negation", lang, hyp, n, "contradiction")
                else:
                    add("negation", lang, n, hyp, "contradiction")
            a = swap_antonym(hyp, ants[lang], rng)
            if a:
                add("antonym", lang, hyp, a, "contradiction")
            c = change_number(hyp, rng)
            if c:
                add("number", lang, hyp, c, "contradiction")
            r = reported(hyp, lang, rng)
            if rng.random() < 0.5:
                add("reported", lang, r, hyp, "neutral")
            else:  # the bare claim is entailed by itself, not by its report: teach both
                add("restate", lang, hyp, hyp, "entailment")
                add("reported", lang, r, hyp, "neutral")
        # a negated hypothesis against the premise: entailed → contradiction, neutral stays neutral
        if label in ("entailment", "neutral"):
            n = neg[lang](hyp)
            if n:
                add("neg-hyp-" + label, lang, prem, n, "contradiction" if label == "entailment" else "neutral")
                # a negated statement entails itself: "no" on both sides is not a contradiction
                add("neg-restate", lang, n, n, "entailment")
        # contraposition: P ⊨ H gives not-H ⊨ not-P (negation on both sides, still entailment)
        if label == "entailment":
            nh, np_ = neg[lang](hyp), neg[lang](prem)
            if nh and np_:
                add("contrapositive", lang, nh, np_, "entailment")
    return out
