"""Boilerplate lines: rules (any language, as data), line shapes in context, and lines learned
per source.

Three layers, from surest to most contextual:

- **Rules** (``rules/boilerplate.yaml``, per language): what every site has, said in words
  ("Read more:", "Please enter your comment!", «کد خبر: ۱۲۳», "PHOTO: Agency", "6 min read").
- **Shape in context** (``strip_boilerplate``): what a page's chrome looks like rather than what
  it says, in the way jusText and trafilatura judge blocks by length, punctuation and
  neighbours: the lines between a page's title and its repeat (masthead, menus, skip links);
  a run of short menu-like lines; headline lists after a "related" marker; link-farm lines
  ending in " -"; breadcrumbs; Title-Case link rows; short unfinished lines after the last
  paragraph of prose; a date alone on a line outside the header. A line that bears a date
  in the header is always left to the date parser.
- **Learning** (``LearnedBoilerplate``): what one site has: a line that recurs in most documents
  of one source is that source's chrome, not its news.

Every rule removes whole lines; nothing here rewrites a line, so what is kept is verbatim and
the spans computed on the kept text are exact.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from narratrace.errors import InvalidInput
from narratrace.store.safe_yaml import load_yaml

RULES_PATH = Path(__file__).resolve().parent / "rules" / "boilerplate.yaml"
_KEYS = ("lines", "text_lines", "credits", "markers", "tail_markers", "date_words")


class BoilerplateRulesError(InvalidInput):
    """The boilerplate rules file is malformed (names the file and the entry)."""


@dataclass(frozen=True)
class Rules:
    line: re.Pattern
    text_line: re.Pattern
    credit: re.Pattern
    marker: re.Pattern
    tail: re.Pattern
    date_words: frozenset[str]


def load_rules(path: Path = RULES_PATH) -> Rules:
    """Read and compile the rules; a malformed file or pattern raises naming file and entry."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BoilerplateRulesError(f"{path}: cannot read boilerplate rules: {exc}") from exc
    data = load_yaml(raw, path, BoilerplateRulesError) or {}
    if not isinstance(data, dict):
        raise BoilerplateRulesError(f"{path}: expected a mapping with keys {', '.join(_KEYS)}")
    unknown = set(data) - set(_KEYS)
    if unknown:
        raise BoilerplateRulesError(f"{path}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                                    f"expected {', '.join(_KEYS)}")
    compiled: dict[str, re.Pattern] = {}
    words: set[str] = set()
    for key in _KEYS:
        section = data.get(key) or {}
        if not isinstance(section, dict):
            raise BoilerplateRulesError(f"{path}: '{key}' must map a language code to a list")
        parts = []
        for lang, items in section.items():
            if not isinstance(items, list):
                raise BoilerplateRulesError(f"{path}: '{key}.{lang}' must be a list")
            for i, item in enumerate(items):
                if not isinstance(item, str) or not item.strip():
                    raise BoilerplateRulesError(f"{path}: '{key}.{lang}[{i}]' must be a non-empty string")
                if key == "date_words":
                    words.add(item.casefold())
                    continue
                try:
                    re.compile(item)
                except re.error as exc:
                    raise BoilerplateRulesError(f"{path}: '{key}.{lang}[{i}]' is not a valid regular "
                                                f"expression: {exc}") from exc
                parts.append(f"(?:{item})")
        if key != "date_words":
            body = "|".join(parts) or r"(?!x)x"
            # credits are matched at the end of a line; the others against a whole line
            compiled[key] = re.compile(rf"(?:{body})\s*$" if key == "credits" else body, re.I)
    return Rules(compiled["lines"], compiled["text_lines"], compiled["credits"], compiled["markers"], compiled["tail_markers"],
                 frozenset(words))


RULES = load_rules()

# Only in the last half of the text does a tail marker start a footer: early on it is a heading.
TAIL_ZONE = 0.5
# Rules look at lines up to this long; longer lines are paragraphs (the longest chrome line in
# campaign-dev, a caption with its credit, is 286 characters).
MAX_RULE_CHARS = 400

# A caption is at most this long (campaign-dev's longest, with its credit: 286 characters) and
# its credit at most this many words ("PHOTO: EPA-EFE", "Photograph: Jane Doe/Agency Images").
CREDIT_MAX_LINE = 320
CREDIT_MAX_WORDS = 8
CREDIT_WINDOW = 160
# Finished lines longer than this are prose to the line patterns (see ``is_rule_boilerplate``).
PROSE_SKIP_CHARS = 200

# -- line shapes -------------------------------------------------------------------------------

_SENTENCE_END = ".!?؟…"
_CLOSERS = "\"'”’»)]}*"
_LEAD_NUMBER = re.compile(r"^[\d۰-۹٠-٩]{1,3}[.)]\s+")
_LEAD_DECOR = set(" \t-–—•·|*#>»›~+=_:")
_TRAIL_DECOR = set(" \t-–—•·|*#<«‹~+=_")
_WORD = re.compile(r"\w+", re.UNICODE)
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_YEAR = re.compile(r"(?<!\d)(1[34]\d\d|19\d\d|20\d\d)(?!\d)")
_NUMERIC_DATE = re.compile(r"(?<!\d)\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}(?!\d)")
_DATE_TOKEN = re.compile(r"[^\W\d_]+(?:\.[^\W\d_]+)*\.?|\d+", re.UNICODE)
_QUOTES = re.compile("[\"“”«»]")
_BYLINE = re.compile(r"^(by|written by|reporting by|از|نویسنده\s*:)\s", re.I)
# Bylines and author lines the tail keeps: "By Jane Roe", «گزارش از …», «نویسنده:…», «به قلم …».
_TAIL_BYLINE = re.compile(r"^(by|written by|reporting by|report by|گزارش از|گزارشی از|نویسنده|به قلم|یادداشت از)\b", re.I)
_HAS_DIGIT = re.compile(r"\d")


def _is_decor(ch: str) -> bool:
    return unicodedata.category(ch) in ("So", "Sk", "Co", "Cn")


def core(line: str) -> str:
    """The line without list numbering and decoration ("1. ", "• ", "- Advertisement -", emoji)."""
    s = _LEAD_NUMBER.sub("", line.strip())
    i, j = 0, len(s)
    while i < j and (s[i] in _LEAD_DECOR or _is_decor(s[i])):
        i += 1
    while j > i and (s[j - 1] in _TRAIL_DECOR or _is_decor(s[j - 1])):
        j -= 1
    return s[i:j].strip()


def words(line: str) -> list[str]:
    return _WORD.findall(line.casefold())


def ends_sentence(line: str) -> bool:
    """Ends like a sentence: a terminator, possibly inside closing quotes or brackets."""
    s = line.rstrip().rstrip(_CLOSERS).rstrip()
    return bool(s) and s[-1] in _SENTENCE_END


def is_prose(line: str) -> bool:
    """A paragraph of running text. Calibrated on campaign-dev, where every gold sentence
    of 60+ characters lies in a line of ≥ 10 words, and no chrome line other than captions
    (handled by the credit rules) and link rows (by the Title-Case rule) is that long."""
    n = len(words(line))
    return (n >= 10 and len(line) >= 60) or (n >= 6 and ends_sentence(line))


def is_headline_like(line: str) -> bool:
    """A link title: a few words, no sentence end, not a lead-in ending in a colon."""
    s = line.strip()
    return 0 < len(s) <= 200 and not ends_sentence(s) and not s.endswith((":", "：")) and len(words(s)) <= 25


def is_date_line(line: str) -> bool:
    """A line that is only a date (and time): "December 02", «۱۴۰۱ مهر ۵, سه‌شنبه»,
    "Publish Date : 04 December 2022 - 22:04". Its words are date words (``date_words`` in the
    rules), the rest digits and separators, with a month name or at least two digit groups."""
    s = line.strip().translate(_DIGITS).replace("\u200c", "")
    if not s or len(s) > 80:
        return False
    tokens = _DATE_TOKEN.findall(s.casefold())
    digit_groups = sum(t.isdigit() for t in tokens)
    if not digit_groups:
        return False
    named = False
    for t in tokens:
        if t.isdigit():
            continue
        if t not in RULES.date_words and t.rstrip(".") not in RULES.date_words:
            return False
        named = True
    rest = _DATE_TOKEN.sub("", s.casefold())
    if re.search(r"[^\s,.:/\-–—|()+،٫]", rest):
        return False
    return digit_groups >= 2 or (named and digit_groups >= 1)


def has_date(line: str) -> bool:
    """A line that bears a date somewhere (a year, or d/m/y): the date parser may need it."""
    s = line.translate(_DIGITS)
    return bool(_YEAR.search(s) or _NUMERIC_DATE.search(s)) or is_date_line(line)


def _has_letters(line: str) -> bool:
    return any(ch.isalpha() for ch in line)


def is_rule_boilerplate(line: str, *, text_input: bool = True) -> bool:
    """The line is chrome by the rules alone (wherever it stands). ``text_input=False``: the line is
    what an HTML extractor kept of a page's article body, to which the ``text_lines`` rules do not
    apply (see the rules file)."""
    s = line.strip()
    if not s or len(s) > MAX_RULE_CHARS:
        return False
    if not _has_letters(s):
        return not is_date_line(s)  # "417441", "**2050", "—"; a date is the date parser's
    c = core(s)
    if not c:
        return True
    # A long finished paragraph is prose: the sentence-shaped chrome in campaign-dev (newsletter
    # prompts, "having trouble loading…") is at most 130 characters. Skipping the line patterns
    # there keeps the rules linear in practice (their leading ".{0,N}" cost ~0.15 ms a line).
    if len(s) > PROSE_SKIP_CHARS and ends_sentence(s):
        return is_credit_line(s)
    return (RULES.line.fullmatch(c) is not None or (text_input and RULES.text_line.fullmatch(c) is not None)
            or is_credit_line(s))


def is_credit_line(line: str) -> bool:
    """A photo caption that ends with its credit ("… PHOTO: EPA-EFE", "… (AP Photo/Jane Doe)",
    "… © Agency", «…عکس: خبرگزاری»)."""
    s = line.strip()
    if len(s) > CREDIT_MAX_LINE:
        return False
    m = RULES.credit.search(s[-CREDIT_WINDOW:])  # a credit is a few words at the very end
    return m is not None and len(m.group().split()) <= CREDIT_MAX_WORDS


_BREADCRUMB_ARROWS = re.compile(r"(^|\s)[»›>](\s|$)")
_BREADCRUMB_SPLIT = re.compile(r"\s+[/|]\s+")


def is_breadcrumb(line: str) -> bool:
    """ "Home » World » Title", "» Uncategorised » Title", "News / Politics"."""
    s = line.strip()
    if len(s) > 250 or ends_sentence(s):
        return False
    if "«" not in s and _BREADCRUMB_ARROWS.search(s):  # a Persian «quote» closes with », never as a separator
        return True
    parts = _BREADCRUMB_SPLIT.split(s)
    return len(parts) >= 2 and all(0 < len(words(p)) <= 3 for p in parts)


def is_link_row(line: str) -> bool:
    """A row of menu links: many Title-Case words and no punctuation at all ("Weather Sports
    Traffic Community Contact Us …"). Twelve words: the Title-Case headlines of campaign-dev
    have at most eleven without a comma or colon."""
    s = line.strip()
    if len(s) > MAX_RULE_CHARS:
        return False
    ws = s.split()
    if len(ws) < 12:
        return False
    caps = sum(1 for w in ws if w[:1].isupper() or w[:1].isdigit() or w == "&")
    return caps >= 0.75 * len(ws) and not _LINK_ROW_PUNCT.search(s)


_LINK_ROW_PUNCT = re.compile(r"[,;:!?؟،؛]|(?<![A-Z])\.(\s|$)")  # "U.S." is a link, "end." a sentence


_LINK_FARM = re.compile(r"\S\s+[-–—]$")


def is_link_farm(line: str) -> bool:
    """A headline of another story left as a link, ending in " -" (scraper sites)."""
    s = line.strip()
    return len(s) <= 200 and len(words(s)) >= 3 and _LINK_FARM.search(s) is not None and not ends_sentence(s[:-1])


# -- the pass over one text ----------------------------------------------------------------------

# The header is the lines before the first prose paragraph, at most this many.
HEADER_MAX = 12
# A title repeated this early (lines, and share of the text's characters) frames a page header.
SANDWICH_MAX_LINES = 30
SANDWICH_MAX_SHARE = 0.3
# A prose paragraph this long between the title and its repeat means they do not frame a header.
SANDWICH_STOP_CHARS = 150
# Menus: at least this many consecutive short lines (≤ MENU_MAX_CHARS, ≤ MENU_MAX_WORDS words)
# without a sentence end. Calibrated on campaign-dev: navigation runs are 4–23 lines long and
# no run of 4 short lines there is content; a transcript's "Yes." ends a sentence and stays.
MENU_RUN = 4
MENU_MAX_CHARS = 40
MENU_MAX_WORDS = 5
# A line repeating the title (≥ this share of its words, at most TITLE_VARIANT_EXTRA characters
# longer, and no sentence) is a caption or a related-link copy of it ("Image: <title>").
TITLE_VARIANT_SHARE = 0.8
TITLE_VARIANT_EXTRA = 60
# After the last prose paragraph, unfinished lines up to this long are widgets and crumbs (the
# longest such chrome line in campaign-dev, a truncated "related" headline, is 31 characters).
TAIL_SHORT_CHARS = 40


def is_title(line: str) -> bool:
    """The first line is a title when it is short and is no sentence (as ``split_text_header``)."""
    s = line.strip()
    return 0 < len(s) <= 200 and not ends_sentence(s)


def _key(line: str) -> str:
    return re.sub(r"[\W_]+", " ", line.casefold()).strip()


def strip_boilerplate(lines: list[str]) -> tuple[list[str], dict[str, int]]:
    """Drop chrome lines by rule and by shape in context; returns the kept lines (verbatim, in
    order) and how many each rule dropped."""
    n = len(lines)
    why: list[str | None] = [None] * n
    if not n:
        return [], {}
    title = lines[0] if is_title(lines[0]) else None
    tkey = _key(title) if title is not None else None
    # a long headline has the shape of prose; the title and its repeats are not the body
    prose = [is_prose(x) and (tkey is None or len(x) < len(tkey) or _key(x) != tkey) for x in lines]
    first_prose = next((i for i, p in enumerate(prose) if p), n)
    last_prose = max((i for i, p in enumerate(prose) if p), default=-1)
    header = set(range(min(first_prose, HEADER_MAX)))
    # In the header a line that bears a date is the date parser's to take or leave.
    keep_for_dates = {i for i in header if has_date(lines[i])}

    def mark(i: int, reason: str) -> None:
        # a header line with a date is left to the date parser unless a rule names it as chrome
        # ("Screen Shot 2022-12-04 at 10.38.38 AM"); a pure date line never reaches the rules
        if why[i] is None and (reason == "rule" or (i not in keep_for_dates and not (i == 0 and title is not None))):
            why[i] = reason

    for i, line in enumerate(lines):
        if is_date_line(line):
            if i not in header:
                mark(i, "date")
        elif is_rule_boilerplate(line):
            mark(i, "rule")
        elif i and (is_breadcrumb(line) or is_link_row(line) or is_link_farm(line)):
            mark(i, "shape")

    if title is not None:
        total = sum(len(x) for x in lines) or 1
        seen = len(lines[0])
        for r in range(1, min(n, SANDWICH_MAX_LINES + 1)):
            if _key(lines[r]) == tkey and len(tkey) >= 20:
                if seen / total <= SANDWICH_MAX_SHARE:
                    for i in range(1, r):
                        mark(i, "header")
                break
            if prose[r] and len(lines[r]) >= SANDWICH_STOP_CHARS:
                break
            seen += len(lines[r])
        twords = set(words(title))
        for i in range(1, n):
            line = lines[i]
            if (twords and len(line) <= len(title) + TITLE_VARIANT_EXTRA and not ends_sentence(line)
                    and _key(line) != tkey
                    and len(twords & set(words(line))) >= TITLE_VARIANT_SHARE * len(twords)):
                mark(i, "title_copy")

    # "Read more:" and the headlines after it
    for i, line in enumerate(lines):
        c = core(line)
        if c and len(c) <= 60 and RULES.marker.fullmatch(c):
            mark(i, "related")
            j = i + 1
            while j < n and (is_headline_like(lines[j]) or is_date_line(lines[j])):
                mark(j, "related")
                j += 1

    # menus: runs of short unfinished lines
    i = 0
    while i < n:
        j = i
        while j < n and _menu_item(lines[j]) and j not in keep_for_dates:
            j += 1
        if j - i >= MENU_RUN:
            for k in range(i, j):
                mark(k, "menu")
        i = max(j, i + 1)

    # after the last paragraph of prose: widgets, tags, truncated crumbs. A byline stays (the
    # learned rule keeps it too), so does a line with figures (a results table), and a line that
    # ends in a colon introduces what follows it: from there on nothing is cut.
    if last_prose >= 0:
        for i in range(last_prose + 1, n):
            s = lines[i].strip()
            if why[i] is None and s.endswith((":", "：")):
                break
            if (len(s) <= TAIL_SHORT_CHARS and not ends_sentence(s) and not _TAIL_BYLINE.match(s)
                    and not _HAS_DIGIT.search(s)):
                mark(i, "tail")

    counts: dict[str, int] = {}
    kept = []
    for line, reason in zip(lines, why):
        if reason is None:
            kept.append(line)
        else:
            counts[reason] = counts.get(reason, 0) + 1
    return kept, counts


def _menu_item(line: str) -> bool:
    s = line.strip()
    return (0 < len(s) <= MENU_MAX_CHARS and len(words(s)) <= MENU_MAX_WORDS and not ends_sentence(s)
            and not s.endswith((":", "：")) and not _HAS_DIGIT.search(s)  # figures: a table, not a menu
            and not _TAIL_BYLINE.match(s)
            and not _QUOTES.search(s))


def cut_tail(lines: list[str]) -> list[str]:
    """Drop a footer or sidebar block that starts in the last part of the text."""
    total = sum(len(x) for x in lines) or 1
    seen = 0
    for i, line in enumerate(lines):
        if seen / total >= TAIL_ZONE and len(line) <= 120 and RULES.tail.fullmatch(core(line) or line.strip()):
            return lines[:i]
        seen += len(line)
    return lines


# -- learned per source ---------------------------------------------------------------------------

# Learned boilerplate: calibrated on the demo corpus's site templates and the idea that
# a footer is on nearly every page while even a campaign's most repeated talking point is
# on a minority of an outlet's pages. A line counts when it is short (≤ 160 chars: site
# chrome, not prose), has no quotation marks (quotes are evidence), is no byline, and
# occurs in ≥ LEARN_MIN_DOCS documents and ≥ LEARN_MIN_SHARE of the scope's documents.
LEARN_MAX_CHARS = 160
LEARN_MIN_DOCS = 4
LEARN_MIN_SHARE = 0.5


def learnable(line: str) -> bool:
    s = line.strip()
    return (
        0 < len(s) <= LEARN_MAX_CHARS
        and not _QUOTES.search(s)
        and not _BYLINE.match(s)
    )


def line_key(line: str) -> str:
    norm = re.sub(r"\W+", " ", line.casefold()).strip()
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=12).hexdigest()


def learnable_keys(lines: list[str]) -> set[str]:
    return {line_key(x) for x in lines if learnable(x)}


@dataclass
class LearnedBoilerplate:
    """Line counts per scope; a line is boilerplate once it passes the thresholds above.

    ``overlay()`` gives a view that adds counts on top without copying the base (the
    ingest look-ahead over a chunk that is not stored yet).
    """

    scope_docs: dict[str, int] = field(default_factory=dict)
    line_docs: dict[tuple[str, str], int] = field(default_factory=dict)
    base: LearnedBoilerplate | None = None

    def add(self, scope: str, keys: set[str]) -> None:
        self.scope_docs[scope] = self.scope_docs.get(scope, 0) + 1
        for k in keys:
            self.line_docs[(scope, k)] = self.line_docs.get((scope, k), 0) + 1

    def overlay(self) -> LearnedBoilerplate:
        return LearnedBoilerplate(base=self)

    def docs(self, scope: str) -> int:
        return self.scope_docs.get(scope, 0) + (self.base.docs(scope) if self.base else 0)

    def count(self, scope: str, key: str) -> int:
        return self.line_docs.get((scope, key), 0) + (self.base.count(scope, key) if self.base else 0)

    def is_boilerplate(self, scope: str, line: str) -> bool:
        if not learnable(line):
            return False
        n = self.count(scope, line_key(line))
        return n >= LEARN_MIN_DOCS and n >= LEARN_MIN_SHARE * self.docs(scope)
