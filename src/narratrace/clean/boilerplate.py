"""Boilerplate lines: fixed rules (any language, as data) and lines learned per source.

Rules catch what every site has (share/follow footers, "Print", "Published in…",
"Last modified on…", related-links blocks). Learning catches what one site has: a line
that recurs in most documents of one source is that source's chrome, not its news.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

# Whole-line patterns. A line matching one is dropped wherever it stands.
# Keep them anchored and short-line-only: a real sentence that merely mentions
# "Facebook" must survive.
LINE_RULES: dict[str, list[str]] = {
    "en": [
        r"(share|share this( article| story| post)?|share on \w+|tweet|print|print this|email|e-mail|"
        r"whatsapp|telegram|facebook|twitter|linkedin|reddit|copy link|save|comments?|advertisement|"
        r"subscribe|sign up|log ?in|menu|search|home|skip to (main )?content|back to top|read more|"
        r"related( articles| stories| news| posts)?|most (read|popular|viewed)|tags?|external links|"
        r"you may also like|recommended|trending|top stories|latest news)\s*[:|»>•·]*",
        r"[•·|\-–—\s]*(print|share|tweet|email)([\s•·|\-–—]+(print|share|tweet|email))*",
        r"(follow|like|join) us( on| at)? .{0,120}",
        r".{0,120}\(?follow us on (twitter|facebook|telegram|instagram|x|youtube).{0,200}",
        r"published in .{1,80}",
        r"last (modified|updated)( on)?:? .{1,60}",
        r"(posted|filed) (in|under):? .{1,80}",
        r"©.{0,150}|(\(c\)|copyright)\s*(©\s*)?\d{4}.{0,150}",
        r".{0,80}all rights reserved\.?.{0,60}",
        r"(tags|topics|categories|keywords)\s*:.{0,200}",
        r"(photo|image|file photo|credit)\s*:.{0,120}",
        r"share this:?.{0,80}",
    ],
    "fa": [
        r"(اشتراک‌?\s?گذاری|به اشتراک بگذارید|چاپ|نسخه چاپی|ارسال به دوستان|ذخیره|کپی لینک|لینک کوتاه|"
        r"اخبار مرتبط|مطالب مرتبط|پربازدیدترین‌?\s?ها|پربیننده‌?\s?ترین‌?\s?ها|آخرین اخبار|برچسب‌?\s?ها|"
        r"نظرات|دیدگاه‌?\s?ها|صفحه اصلی|جستجو|بیشتر بخوانید)\s*[:|»•·]*",
        r".{0,80}(ما را|کانال ما را) در .{1,60} دنبال کنید.{0,80}",
        r".{0,80}(کلیه|تمامی) حقوق .{0,60}محفوظ (است|می‌باشد).{0,60}",
        r"(برچسب‌?\s?ها|کلیدواژه‌?\s?ها)\s*:.{0,200}",
        r"(تاریخ انتشار|آخرین به‌?\s?روزرسانی)\s*:.{0,60}",
    ],
}

# A line like these near the end of a text starts a related-links / footer block:
# everything from it to the end is cut (seed 001 ends with such a sidebar).
TAIL_MARKERS: list[str] = [
    r"published in .{1,80}",
    r"last (modified|updated)( on)?:? .{1,60}",
    r"(external|related) links|related (articles|stories|news|posts)|read more|more (stories|from .{1,40})|"
    r"you may also like|recommended( for you)?|most (read|popular)",
    r"(اخبار مرتبط|مطالب مرتبط|بیشتر بخوانید|پربازدیدترین‌?\s?ها)",
]
TAIL_ZONE = 0.5  # only in the last half of the text: a marker early on is a real heading

_LINE_RE = re.compile("|".join(f"(?:{p})" for ps in LINE_RULES.values() for p in ps), re.I)
_TAIL_RE = re.compile("|".join(f"(?:{p})" for p in TAIL_MARKERS), re.I)
_QUOTE_CHARS = re.compile("[\"“”«»]")
_BYLINE = re.compile(r"^(by|written by|reporting by|از|نویسنده\s*:)\s", re.I)

# Learned boilerplate: calibrated on the demo corpus's site templates and the idea that
# a footer is on nearly every page while even a campaign's most repeated talking point is
# on a minority of an outlet's pages. A line counts when it is short (≤ 160 chars: site
# chrome, not prose), has no quotation marks (quotes are evidence), is no byline, and
# occurs in ≥ LEARN_MIN_DOCS documents and ≥ LEARN_MIN_SHARE of the scope's documents.
LEARN_MAX_CHARS = 160
LEARN_MIN_DOCS = 4
LEARN_MIN_SHARE = 0.5


def is_rule_boilerplate(line: str) -> bool:
    return len(line) <= 400 and _LINE_RE.fullmatch(line.strip()) is not None


def cut_tail(lines: list[str]) -> list[str]:
    """Drop a related-links/footer block that starts in the last part of the text."""
    total = sum(len(x) for x in lines) or 1
    seen = 0
    for i, line in enumerate(lines):
        if seen / total >= TAIL_ZONE and len(line) <= 120 and _TAIL_RE.fullmatch(line.strip()):
            return lines[:i]
        seen += len(line)
    return lines


def learnable(line: str) -> bool:
    s = line.strip()
    return (
        0 < len(s) <= LEARN_MAX_CHARS
        and not _QUOTE_CHARS.search(s)
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
