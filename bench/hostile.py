"""Hostile paragraphs against the quote rules (enrich/quotes/rules.py): a paragraph opening with a
long run of letters, a long run of "!", a long name after an epigraph dash.

    python bench/hostile.py                # letters 200 / 2,000 / 100,000; old patterns capped at 60 s
    python bench/hostile.py --cap 10       # a shorter cap for the old patterns
    python bench/hostile.py --no-english   # without spaCy (the English pipeline loads in ~3 s)

1. Label extraction (``label_findings``, English and Persian rules), the Persian rule engine end to
   end (``extract_quotes(…, "fa")``) and the English pipeline end to end (spaCy + rules) on a
   paragraph opening with N letters. Baseline, same run: the same call on an ordinary article of
   the same length (label lines, quotations, reported speech). Printed: best of several runs and
   the ratio hostile / ordinary. Bounded patterns keep the ratio near 1; the old label pattern
   grew as ~N⁴ (the issue: 200 letters 8.8 s, 400 letters 102 s).
2. Each rewritten pattern alone, old next to new, on its hostile input and on the ordinary
   article: the old one in its own subprocess, stopped after ``--cap`` seconds (the sizes after
   the first one stopped are not run).
3. Ingest's text paths (sentence splitter, the repeat rule's splitter, Markdown links, the whole
   line cleaner, extraction of a text and a Markdown file end to end) on hostile runs at 1× and
   10× (20,000 and 200,000 characters), and ordinary text of the same lengths. Linear paths show
   ~10× (issue 15: 30 KB of "A. " took 28 s in the splitter; 200 KB of "[" > 300 s).

    python bench/hostile.py --paths-only   # section 3 alone (no spaCy, a few seconds)

4. The quote stage's per-document work (``enrich.annotate.annotate``: quote rules, spaCy parse,
   NER; English and Persian rules) on the same shapes at 200,000 characters, each run under its
   per-document deadline (``NARRATRACE_DOCUMENT_SECONDS`` plus 600 s per MB: 150 s at 200 KB, or
   ``--analysis-cap``). A figure is the time taken, or "stopped" when the deadline turned the
   document into an overrun (the stage then names it and goes on). Issue 15: "!?" × 2,000 took 30 s
   in spaCy's tokenizer (quadratic on a run without spaces; 200,000 characters: hours).

    python bench/hostile.py --analysis-only --analysis-cap 60
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import textwrap
import time

from narratrace.enrich.quotes import extract_quotes
from narratrace.enrich.quotes import marks as M
from narratrace.enrich.quotes import rules as R

SIZES = (200, 2_000, 100_000)

# The patterns before the rewrite (tests/enrich/test_quote_rules_bounded.py holds the same copies).
OLD = {
    "LABEL": (r"^[^\w\n]{0,3}((?:[^\W\d_][\w.'’\-]*\s?){1,4}):\s*(\S)", re.MULTILINE),
    "SENT_END": (r"[.!?؟…]+[»”\"’')\]]*(?=\s)|\n+", 0),
    "DASH": (r"[\s\u00a0]*(―|—|–)[\s\u00a0]*((?:[^\W\d_][\w.'’\-]*[\s\u00a0]?){1,4}?)[\s\u00a0.]*(?:\n|$)", 0),
}
NEW = {
    "LABEL": (R.LABEL.pattern, R.LABEL.flags),
    "SENT_END": (M.SENT_END.pattern, M.SENT_END.flags),
    "DASH": (R.dash_pattern(("―", "—", "–")).pattern, 0),  # the dash cues of rules/en.yaml
}

ORDINARY = [
    "Minister of Interior: the protests were organised from abroad, the ministry said on Monday.",
    "Ali Rezaei: «this claim has no basis», he told the state broadcaster in a short interview.",
    "The council met on Monday and the mayor said the budget was fine, according to the minutes.",
    "“We never met them,” said Sonya Herridge, a spokeswoman for the Kavaran embassy in Norvale.",
    "وزیر کشور: «هیچ اعتراضی در کار نیست» و این گزارش‌ها ساختگی است.",
    "Analysts noted that the same phrasing appeared in three outlets within an hour of each other.",
]


def ordinary(n: int) -> str:
    """An ordinary article of exactly ``n`` characters: the lines above, repeated, cut at n."""
    out, k = [], 0
    while sum(map(len, out)) < n:
        out.append(ORDINARY[k % len(ORDINARY)] + "\n")
        k += 1
    return "".join(out)[:n]


def hostile(n: int) -> str:
    """A paragraph opening with ``n`` letters and no colon (the label finder's worst case)."""
    return "b" * n + " is how the post opened, and the paragraph goes on.\nAli Rezaei: a label after it.\n"


def best(fn, text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - t0)
    return min(times)


def old_pattern_seconds(name: str, text: str, cap: float) -> float | None:
    """The old pattern on ``text`` in its own process; None when it ran past ``cap`` seconds."""
    pattern, flags = OLD[name]
    op = "list(p.finditer(text))" if name != "DASH" else "p.match(text)"
    code = textwrap.dedent(f"""
        import re, sys, time
        p = re.compile({pattern!r}, {flags})
        text = sys.stdin.read()
        t0 = time.perf_counter()
        {op}
        print(time.perf_counter() - t0)
    """)
    try:
        r = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True,
                           timeout=cap, check=True, encoding="utf-8")
    except subprocess.TimeoutExpired:
        return None
    return float(r.stdout)


def new_pattern_seconds(name: str, text: str, runs: int) -> float:
    p = re.compile(*NEW[name])
    return best((lambda t: list(p.finditer(t))) if name != "DASH" else p.match, text, runs)


def fmt(s: float | None, cap: float | None = None) -> str:
    if s is None:
        return f"> {cap:g} s (stopped)" if cap is not None else "not run"
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else f"{s * 1000:.2f} ms" if s < 1 else f"{s:.1f} s"


PATH_SHAPES = {"'A. ' (initials)": "A. ", "'.' run": ".", "'!?' run": "!?", "'[' run": "[", "'![' run": "![",
               "'[](' run": "[](", "'Mr. '": "Mr. ", "'a.b.'": "a.b.", "ordinary": None}


def text_paths() -> dict:
    from narratrace.clean.text import clean_lines, sentence_spans
    from narratrace.ingest.extract import _markdown_to_text
    from narratrace.ingest.items import RawItem
    from narratrace.ingest.pipeline import _safe_extract
    from narratrace.segment.sentences import split_sentences

    return {
        "segment.split_sentences": split_sentences,
        "clean.sentence_spans": sentence_spans,
        "ingest markdown links": _markdown_to_text,
        "clean.clean_lines": lambda t: clean_lines(t, "en"),
        "extract .txt end to end": lambda t: _safe_extract(RawItem(origin="b.txt", kind="text", data=t.encode())),
        "extract .md end to end": lambda t: _safe_extract(RawItem(origin="b.md", kind="markdown", data=t.encode())),
    }


def section_paths(runs: int) -> None:
    print("\n3. ingest text paths on hostile runs: 20,000 characters (1×) and 200,000 (10×)")
    print(f"{'path':<26} {'input':<18} {'1×':>10} {'10×':>10} {'ratio':>7}")
    paths = text_paths()
    paths["extract .txt end to end"]("Warm up the language model once.")  # its load is not the path's
    for name, fn in paths.items():
        for shape, unit in PATH_SHAPES.items():
            small = ordinary(20_000) if unit is None else unit * (20_000 // len(unit))
            big = ordinary(200_000) if unit is None else small * 10
            t1, t10 = best(fn, small, runs), best(fn, big, max(1, runs // 2))
            print(f"{name:<26} {shape:<18} {fmt(t1):>10} {fmt(t10):>10} {t10 / t1:>6.1f}×", flush=True)


ANALYSIS_SHAPES = {**PATH_SHAPES, "letters, no colon": "LETTERS", "'\"' run": '"', "'«' run": "«",
                   "'!? ' (spaced)": "!? ", "'said, ' run": "said, "}


def section_analysis(n: int, cap: float | None) -> None:
    from narratrace.enrich.annotate import annotate
    from narratrace.enrich.entities import Gazetteer
    from narratrace.enrich.quotes import english_pipeline
    from narratrace.ingest import deadline

    nlp = english_pipeline()
    gazetteer = Gazetteer({})
    print(f"\n4. the quote stage's per-document work (annotate) at {n:,} characters, under the deadline")
    print(f"{'shape':<20} {'language':<8} {'chars':>8} {'budget':>8} {'time':>16}")
    for lang in ("en", "fa"):
        for shape, unit in ANALYSIS_SHAPES.items():
            text = ordinary(n) if unit is None else hostile(n) if unit == "LETTERS" else unit * (n // len(unit))
            sents = [(sp.start, sp.end, None) for sp in _split(text)]
            seconds = cap or deadline.budget(len(text.encode()), deadline.QUOTES_SECONDS_PER_MB) or 90.0
            t0 = time.perf_counter()
            try:
                deadline.call_with_deadline(
                    lambda t=text, ss=sents, lg=lang: annotate(t, ss, lg, gazetteer, {}, lambda x: nlp if x == "en" else None),
                    seconds, what="quote extraction")
                took = fmt(time.perf_counter() - t0)
            except deadline.Overrun:
                took = f"stopped at {seconds:g} s"
            print(f"{shape:<20} {lang:<8} {len(text):>8,} {seconds:>7g}s {took:>16}", flush=True)


def _split(text: str):
    from narratrace.segment.sentences import split_sentences

    return split_sentences(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/hostile.py")
    ap.add_argument("--cap", type=float, default=60, help="seconds an old pattern may run (default 60)")
    ap.add_argument("--runs", type=int, default=5, help="runs per figure, best kept (default 5)")
    ap.add_argument("--no-english", action="store_true", help="skip the spaCy pipeline")
    ap.add_argument("--paths-only", action="store_true", help="only section 3, ingest's text paths")
    ap.add_argument("--analysis-only", action="store_true", help="only section 4, the quote stage")
    ap.add_argument("--analysis-chars", type=int, default=200_000, help="section 4's size (default 200,000)")
    ap.add_argument("--analysis-cap", type=float, default=None,
                    help="section 4's deadline per document in seconds (default: the stage's own budget)")
    args = ap.parse_args(argv)

    print(f"bench/hostile.py — {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

    if args.paths_only:
        section_paths(args.runs)
        return 0
    if args.analysis_only:
        section_analysis(args.analysis_chars, args.analysis_cap)
        return 0
    en, fa = R.load_rules("en"), R.load_rules("fa")
    calls = {
        "labels (en rules)": lambda t: R.label_findings(t, en, M.find_quotes(t, en.quote_pairs)),
        "labels (fa rules)": lambda t: R.label_findings(t, fa, M.find_quotes(t, fa.quote_pairs)),
        "rule engine, fa end to end": lambda t: extract_quotes(t, "fa"),
    }
    if not args.no_english:
        from narratrace.enrich.quotes import english_pipeline

        nlp = english_pipeline()
        calls["English pipeline end to end"] = lambda t: extract_quotes(t, "en", nlp=nlp)

    print("\n1. quote extraction, paragraph opening with N letters vs an ordinary article of the same length")
    print(f"{'call':<30} {'N letters':>10} {'chars':>8} {'ordinary':>12} {'hostile':>12} {'ratio':>7}")
    for n in SIZES:
        bad = hostile(n)
        good = ordinary(len(bad))
        for name, fn in calls.items():
            runs = args.runs if n < 100_000 or "English" not in name else max(1, args.runs // 2)
            base, t = best(fn, good, runs), best(fn, bad, runs)
            print(f"{name:<30} {n:>10,} {len(bad):>8,} {fmt(base):>12} {fmt(t):>12} {t / base:>6.2f}×", flush=True)

    print(f"\n2. each rewritten pattern alone: old (own process, cap {args.cap:g} s) vs new; "
          "baseline: the new pattern on an ordinary text of the same length")
    print(f"{'pattern':<9} {'hostile input':<36} {'chars':>8} {'new, ordinary':>14} {'new':>10} "
          f"{'ratio':>7} {'old':>20}")
    cases = [("LABEL", f"{n:,} letters, no colon", "b" * n) for n in SIZES]
    cases += [("SENT_END", f"{n:,} '!' then 'x'", "!" * n + "x") for n in (2_000, 20_000, 100_000)]
    cases += [("DASH", "' ― ' + 115 letters + '! and more'", " ― " + "a" * 115 + "! and more")]
    stopped: set[str] = set()
    for name, what, text in cases:
        base = new_pattern_seconds(name, ordinary(len(text)), args.runs)
        t = new_pattern_seconds(name, text, args.runs)
        old = None if name in stopped else old_pattern_seconds(name, text, args.cap)
        if old is None and name not in stopped:
            stopped.add(name)
            old_text = fmt(None, args.cap)
        else:
            old_text = fmt(old) if old is not None else "(a smaller N stopped)"
        print(f"{name:<9} {what:<36} {len(text):>8,} {fmt(base):>14} {fmt(t):>10} {t / base:>6.2f}× "
              f"{old_text:>20}", flush=True)

    section_paths(args.runs)
    if not args.no_english:
        section_analysis(args.analysis_chars, args.analysis_cap)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
