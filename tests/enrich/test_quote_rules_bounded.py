"""The quote rules' regexes cannot backtrack catastrophically, and find what they found before.

Each rewritten pattern is checked against its old form (copied here as the reference) on realistic
lines and on random short strings; the hostile inputs themselves run in a subprocess with a time
limit, so a regression fails instead of hanging the suite. How fast is measured by
bench/hostile.py, not here."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from narratrace.enrich.quotes import marks as M
from narratrace.enrich.quotes import rules as R

# The patterns as they were before the rewrite (exponential, resp. quadratic, on hostile text).
OLD_LABEL = re.compile(r"^[^\w\n]{0,3}((?:[^\W\d_][\w.'’\-]*\s?){1,4}):\s*(\S)", re.MULTILINE)
OLD_SENT_END = re.compile(r"[.!?؟…]+[»”\"’')\]]*(?=\s)|\n+")
DASHES = "|".join(map(re.escape, ["―", "—", "–"]))
OLD_DASH = re.compile(r"[\s\u00a0]*(" + DASHES + r")[\s\u00a0]*((?:[^\W\d_][\w.'’\-]*[\s\u00a0]?){1,4}?)"
                      r"[\s\u00a0.]*(?:\n|$)")
NEW_DASH = R.dash_pattern(("―", "—", "–"))  # the dash cues of rules/en.yaml and rules/fa.yaml

LABEL_LINES = [
    "Minister of Interior: the protests were organised from abroad.",
    "Ali Rezaei: «این ادعا بی‌اساس است»",
    "وزیر کشور: «هیچ اعتراضی در کار نیست»",
    "سخنگوی دولت: این گزارش‌ها ساختگی است.",
    "Dr. J. O'Neill-Smith: we saw nothing of the kind.",
    "Kavaran’s envoy: “a foreign-made illusion”",
    "- Former envoy : it means nothing",
    "** Update: the ministry denied the report",
    "Analysis:\nthe content starts on the next line",
    "Sonya\nHerridge: a label across a line break",
    "Ali  Rezaei: two spaces are not a label",
    "One Two Three Four Five: five words are not a label",
    "2026 Report: a label cannot start with a digit",
    "_private: nor with an underscore",
    "Henrik Vallo:",
    "Henrik Vallo:   \n\n  later",
    "well-known.source.name: dotted",
    "no colon on this line at all, only words and more words",
    "«quoted» Minister: not at the start",
    "Q: short\nA: answer\nQ2: again\n\n   Mayor Anna Berg: yes",
]


def spans(pattern: re.Pattern, text: str):
    return [(m.span(), *(m.span(g) for g in range(1, pattern.groups + 1))) for m in pattern.finditer(text)]


def one(pattern: re.Pattern, text: str):
    m = pattern.match(text)
    return m and (m.span(), m.span(1), m.span(2))


@pytest.mark.parametrize("line", LABEL_LINES)
def test_label_finds_what_the_old_pattern_found(line):
    assert spans(R.LABEL, line) == spans(OLD_LABEL, line)


def test_label_lines_still_match():
    found = [R.LABEL.match(line).group(1) for line in LABEL_LINES[:8]]
    assert found == ["Minister of Interior", "Ali Rezaei", "وزیر کشور", "سخنگوی دولت", "Dr. J. O'Neill-Smith",
                     "Kavaran’s envoy", "Former envoy ", "Update"]
    text = "\n".join(LABEL_LINES)
    assert spans(R.LABEL, text) == spans(OLD_LABEL, text)


# Characters that exercise every class boundary of the three patterns, in short strings: the old
# patterns are exponential only in the length of a letter run, which these keep small.
ALPHABET = "aBzع1_.'’-: \n\u00a0\t«»”\")!?؟…―—–x"
short = st.text(alphabet=ALPHABET, max_size=24)
quick = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@quick
@given(short)
def test_label_agrees_on_random_strings(s):
    assert spans(R.LABEL, s) == spans(OLD_LABEL, s)


@quick
@given(short)
def test_sentence_end_agrees_on_random_strings(s):
    assert spans(M.SENT_END, s) == spans(OLD_SENT_END, s)


@quick
@given(st.sampled_from(["", " ", "\u00a0 "]), st.sampled_from(["―", "—", "–"]), short)
def test_dash_attribution_agrees_on_random_strings(lead, dash, rest):
    s = lead + dash + rest
    assert one(NEW_DASH, s) == one(OLD_DASH, s)


def test_dash_attribution_uses_the_new_pattern():
    rules = R.load_rules("en")
    assert rules.dash_cues == R.load_rules("fa").dash_cues == ("―", "—", "–")
    t = "“We never met them.” ― Sonya Herridge\n\nMore text."
    q = M.find_quotes(t, rules.quote_pairs)[0]
    cue, speaker = R.dash_attribution(t, q, rules)
    assert t[cue[0]:cue[1]] == "―" and t[speaker[0]:speaker[1]] == "Sonya Herridge"


HOSTILE = textwrap.dedent("""
    import re
    from narratrace.enrich.quotes import extract_quotes
    from narratrace.enrich.quotes import marks as M
    from narratrace.enrich.quotes import rules as R

    assert R.LABEL.search("a" * 2000) is None                 # old pattern: ~10^4 s
    assert R.LABEL.search("a " * 1000 + "b") is None
    para = "b" * 100_000 + " then the rest of the paragraph.\\n"
    doc = "Intro line.\\n" + para + "Ali Rezaei: a real label after it.\\n" + "!" * 100_000 + "x\\n"
    doc += ("«Hello there friend.» ― " + "a" * 115 + "! and more\\n") * 30   # old: 1.5 s each
    fa = extract_quotes(doc, "fa")                            # the rule engine end to end
    en_rules = R.load_rules("en")
    en = R.label_findings(doc, en_rules, [])                  # the English labels, no parser
    assert [doc[f.speaker_start:f.speaker_end] for f in en] == ["Ali Rezaei"], en
    quotes = M.find_quotes(doc, en_rules.quote_pairs)
    assert len(quotes) == 30 and not any(R.dash_attribution(doc, q, en_rules) for q in quotes)
    print("ok", len(fa))
""")


def test_hostile_paragraphs_return_at_once():
    """A paragraph opening with 100,000 letters, 100,000 "!" and 30 quotations each followed by
    a 115-letter dash attribution: each hung analysis before (minutes to never; the dashes 45 s);
    here the whole run has 20 s, imports included."""
    r = subprocess.run([sys.executable, "-c", HOSTILE], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and r.stdout.startswith("ok"), r.stderr[-2000:]
