"""HTML main-text extraction engines against each other and against narratrace's own HTML path.

    python bench/extraction.py                                   # every engine, ../shared/eval
    python bench/extraction.py --eval-dir ../shared/eval --engines trafilatura resiliparse

Data: the scrapinghub article-extraction-benchmark (181 pages, ``EVAL/extraction/html/ID.html.gz``
and ``ground-truth.json``). Score: the benchmark's own metric, reused from
``narratrace.evaluation.extraction`` (word 4-gram shingles per page; precision and recall
averaged over pages; F1 from the two averages). Published F1: trafilatura 2.0.0 0.958,
rs_trafilatura 0.970.

Every page is decoded once, as ingest decodes it (``clean.encoding.decode``, an XML declaration
cut), and every engine gets the same ``str``. Engines:

- ``narratrace``: the full HTML path, ``ingest.extract.extract(RawItem(kind="html"))`` → its
  lines joined (trafilatura ``bare_extraction`` with the project's config and ZWNJ protection,
  then ``clean.text.clean_lines``: boilerplate rules, normalisation, paragraph dedup);
- ``narratrace-html``: ``clean.html.extract_html(html).text`` alone (the trafilatura call, no
  line rules): the difference to ``narratrace`` is what the rules add;
- ``trafilatura``: ``trafilatura.extract(html, include_comments=False)``, the 1.00× baseline;
- ``rs-trafilatura``: ``rs_trafilatura.extract(html).main_content`` (PyPI ``rs-trafilatura``);
- ``resiliparse`` / ``resiliparse-nocomments``: ``extract_plain_text(html, main_content=True)``,
  the second with ``comments=False``.

Printed per engine: mean P/R/F1, pages failed (exception or empty text), time per page (median and
total, one thread, one warm-up call first, engines run one after the other), time relative to
trafilatura, and a paired count of pages where its F1 beats / loses to trafilatura's by > 0.01.
An engine whose package is not installed is skipped with a message.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path

from narratrace.clean.encoding import DecodeError, decode
from narratrace.evaluation.extraction import load_benchmark, score, tp_fp_fn

MARGIN = 0.01  # paired comparison: a page counts as won / lost beyond this F1 difference
BASELINE = "trafilatura"
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


def _narratrace():
    from narratrace.ingest.extract import extract
    from narratrace.ingest.items import InputError, RawItem

    def run(html: str) -> str:
        try:
            return "\n\n".join(extract(RawItem(origin="bench", kind="html", text=html)).lines)
        except InputError:
            return ""
    return run


def _narratrace_html():
    from narratrace.clean.html import ExtractionError, extract_html

    def run(html: str) -> str:
        try:
            return extract_html(html).text
        except ExtractionError:
            return ""
    return run


def _trafilatura():
    import trafilatura

    return lambda html: trafilatura.extract(html, include_comments=False) or ""


def _rs_trafilatura():
    import rs_trafilatura

    return lambda html: rs_trafilatura.extract(html).main_content or ""


def _resiliparse(**options):
    def make():
        from resiliparse.extract.html2text import extract_plain_text

        return lambda html: extract_plain_text(html, main_content=True, **options) or ""
    return make


# name → (factory, PyPI distribution for the version line)
ENGINES = {
    "narratrace": (_narratrace, "trafilatura"),
    "narratrace-html": (_narratrace_html, "trafilatura"),
    "trafilatura": (_trafilatura, "trafilatura"),
    "rs-trafilatura": (_rs_trafilatura, "rs-trafilatura"),
    "resiliparse": (_resiliparse(), "resiliparse"),
    "resiliparse-nocomments": (_resiliparse(comments=False), "resiliparse"),
}


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def page_f1(tp: float, fp: float, fn: float) -> float:
    """One page's F1 from its normalised counts (1.0 when both texts have the same shingles)."""
    if fp == fn == 0:
        return 1.0
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def load(root: Path) -> list[tuple[str, str, str]]:
    pages = []
    for key, raw, gold in load_benchmark(root):
        try:
            html, _enc = decode(raw)
        except DecodeError:  # the page stays in, with no text, for every engine
            html = ""
        pages.append((key, _XML_DECL.sub("", html), gold))
    return pages


def run_engine(extract, pages) -> dict:
    extract(pages[0][1])  # warm-up: imports, config, lazy tables
    times, pairs, failed = [], [], 0
    for _key, html, gold in pages:
        t0 = time.perf_counter()
        try:
            text = extract(html)
        except Exception:  # an engine's crash is a failed page, not the end of the run
            text = ""
        times.append(time.perf_counter() - t0)
        failed += not text.strip()
        pairs.append(tp_fp_fn(gold, text))
    out = score(pairs)
    out.update(failed=failed, median_ms=1000 * statistics.median(times), total_s=sum(times),
               f1s=[page_f1(*p) for p in pairs])
    return out


def header(root: Path, names: list[str]) -> list[str]:
    load1, load5, load15 = os.getloadavg()
    lines = [
        f"date: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        f"load average (1/5/15 min) at start: {load1:.2f} / {load5:.2f} / {load15:.2f}",
        f"data: {root} ({len(list((root / 'html').glob('*.html.gz')))} pages)",
    ]
    dists = sorted({ENGINES[n][1] for n in names} | {"trafilatura", "lxml"})
    lines.append("versions: " + ", ".join(f"{d} {_version(d)}" for d in dists))
    return lines


def table(results: dict[str, dict]) -> list[str]:
    base = results.get(BASELINE)
    rows = ["| engine | precision | recall | F1 | failed/empty | median ms/page | total s | time vs trafilatura "
            f"| pages F1 > trafilatura +{MARGIN} | pages F1 < trafilatura −{MARGIN} |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        ratio = won = lost = "–"
        if base and name != BASELINE:
            ratio = f"{r['total_s'] / base['total_s']:.2f}×"
            diffs = [a - b for a, b in zip(r["f1s"], base["f1s"])]
            won, lost = sum(d > MARGIN for d in diffs), sum(d < -MARGIN for d in diffs)
        elif name == BASELINE:
            ratio = "1.00×"
        rows.append(f"| {name} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['failed']} "
                    f"| {r['median_ms']:.1f} | {r['total_s']:.2f} | {ratio} | {won} | {lost} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval-dir", type=Path, default=Path("../shared/eval"),
                    help="folder holding extraction/ (default: ../shared/eval, run from the repo root)")
    ap.add_argument("--engines", nargs="+", choices=list(ENGINES), default=list(ENGINES))
    args = ap.parse_args(argv)
    root = args.eval_dir / "extraction"
    if not (root / "ground-truth.json").is_file() or not (root / "html").is_dir():
        print(f"skip: {root} has no ground-truth.json and html/ (the benchmark lives in ../shared/eval)")
        return 0
    names = [BASELINE] + [n for n in args.engines if n != BASELINE] if BASELINE in args.engines else args.engines
    print("\n".join(header(root, names)))
    pages = load(root)
    results: dict[str, dict] = {}
    for name in names:
        factory, dist = ENGINES[name]
        try:
            extract = factory()
        except ImportError as exc:
            print(f"skip {name}: {exc} (pip install {dist})", flush=True)
            continue
        r = run_engine(extract, pages)
        results[name] = r
        print(f"{name}: {r['pages']} pages, F1 {r['f1']:.3f}, {r['total_s']:.1f} s, {r['failed']} failed/empty, "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
    if not results:
        print("skip: no engine could be loaded")
        return 0
    print(f"\nload average (1 min) at end: {os.getloadavg()[0]:.2f}\n")
    print("\n".join(table(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
