"""Bounded work per document (issue 15): every text path of ingest is linear on hostile text, and a
per-document time budget turns any overrun into a failed problem naming the document.

Sizes: each hostile shape at 20,000 characters and at 200,000 (10×). Before the fixes the 20,000
figure alone took seconds (sentence splitter on "A. ": 18,000 characters 3 s; Markdown links on
"[": 4 s; the repeat rule's sentence splitter on "A. ": 8 s) and the 200,000 one minutes. A linear
path takes ~10× at 10× the size; the test allows 30× plus a small floor for timer noise on a
loaded 2-core machine, and an absolute cap far below the old times.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
from conftest import write

from narratrace.clean.text import clean_lines, sentence_spans
from narratrace.enrich.language import document_language
from narratrace.ingest import deadline, pipeline
from narratrace.ingest.extract import _markdown_to_text
from narratrace.segment.sentences import split_sentences

SHAPES = {
    "initials": "A. ",
    "dots": ".",
    "bangs": "!?",
    "brackets": "[",
    "image brackets": "![",
    "empty links": "[](",
    "parens": "(",
    "abbreviations": "Mr. ",
    "dotted letters": "a.b.",
    "spaces then dot": "x.     ",
}
PATHS = {
    "segment.split_sentences": split_sentences,
    "clean.sentence_spans": sentence_spans,
    "clean.clean_lines": lambda t: clean_lines(t, "en"),
    "ingest.markdown": _markdown_to_text,
}


def _seconds(fn, text: str) -> float:
    t0 = time.perf_counter()
    fn(text)
    return time.perf_counter() - t0


@pytest.mark.parametrize("path", PATHS)
def test_text_paths_are_linear_on_hostile_runs(path):
    fn = PATHS[path]
    for shape, unit in SHAPES.items():
        small = unit * (20_000 // len(unit))
        t1 = min(_seconds(fn, small) for _ in range(2))
        t10 = _seconds(fn, small * 10)
        assert t10 < 30 * t1 + 0.05, f"{path} on {shape!r}: {t1:.4f} s → {t10:.4f} s at 10×"
        assert t10 < 3.0, f"{path} on {shape!r}: {t10:.2f} s for 200,000 characters"


def test_sentence_splits_are_unchanged_by_the_rewrite():
    """The bounded look-back gives the old answers (initials, listed abbreviations, long words)."""
    text = ("Dr. Vell met Gen. Aster at 3 p.m. on Monday. J. Orrin left. The U.S. envoy spoke. "
            "It was approx. ten. A supercalifragilisticexpialidocious. Next one! «Quoted?» Then.")
    got = [text[s.start:s.end] for s in split_sentences(text)]
    assert got == ["Dr. Vell met Gen. Aster at 3 p.m. on Monday.", "J. Orrin left.", "The U.S. envoy spoke.",
                   "It was approx. ten.", "A supercalifragilisticexpialidocious.", "Next one!", "«Quoted?»",
                   "Then."]


def test_markdown_links_unwrap_as_before():
    md = "See [the report](https://x.example/a) and ![a map](m.png), [wiki](https://w.example/Foo_(bar)) ok."
    assert _markdown_to_text(md) == "See the report and a map, wiki ok."
    assert _markdown_to_text("[a [b](c)") == "[a b"  # the inner link, as CommonMark reads it


# -- the per-document watchdog ---------------------------------------------------------------

_CATASTROPHIC = re.compile(r"(a|aa)+$")  # exponential on "aaaa…b": stands in for any runaway path


def _runaway_extract(real):
    def extract(item):
        if "runaway" in item.origin:
            _CATASTROPHIC.match("a" * 60 + "b")  # would take longer than the universe's age
        return real(item)
    return extract


def _folder(tmp_path):
    document_language("Warm up the language model: its first load takes seconds.")  # not the budget's
    d = tmp_path / "in"
    write(d / "a-good.txt", "Good one\n\nThe council of Norvale met on Monday and approved the budget.")
    write(d / "b-runaway.txt", "Runaway\n\nThis page stands for a document that never finishes cleaning.")
    write(d / "c-good.txt", "Good two\n\nThe mayor of Kestrel said the bridge will reopen in spring.")
    return d


def test_overrun_is_a_failed_problem_naming_the_document(ws, tmp_path, monkeypatch):
    monkeypatch.setenv("NARRATRACE_DOCUMENT_SECONDS", "0.5")
    monkeypatch.setattr(pipeline, "extract", _runaway_extract(pipeline.extract))
    t0 = time.perf_counter()
    report = ws.ingest([str(_folder(tmp_path))])
    assert time.perf_counter() - t0 < 20
    assert report.added == 2, report.as_dict()
    (failed,) = report.failed
    assert failed.origin.endswith("b-runaway.txt")
    assert "time budget" in failed.reason and "NARRATRACE_DOCUMENT_SECONDS" in failed.reason


def test_overrun_outside_the_main_thread_goes_through_the_pool(ws, tmp_path, monkeypatch, request):
    """An ingest in a server thread cannot take a signal: its items are extracted in the pool,
    whose workers enforce the budget their caller computed. The workers are spawned and do not see
    a patch made here, so the overrun is real: ~1.5 MB of ordinary prose (~3 s per
    MB to clean) against 0.5 s for every document (the size allowance patched away in the caller)."""
    monkeypatch.setenv("NARRATRACE_DOCUMENT_SECONDS", "0.5")
    monkeypatch.setattr(pipeline, "_item_budget", lambda item: 0.5)
    deadline.reset_pool()
    request.addfinalizer(deadline.reset_pool)
    d = _folder(tmp_path)
    para = "The council of Norvale met on Monday and approved the budget for the harbour. " * 40
    write(d / "b-runaway.txt", "Runaway\n\n" + "\n\n".join(f"{i}. {para}" for i in range(500)))
    box = {}
    th = threading.Thread(target=lambda: box.update(report=ws.ingest([str(d)])))
    th.start()
    th.join(60)
    assert not th.is_alive(), "the ingest stalled"
    report = box["report"]
    assert report.added == 2 and [p.origin.rsplit("/", 1)[-1] for p in report.failed] == ["b-runaway.txt"]
    assert "time budget" in report.failed[0].reason


def test_budget_grows_with_size_and_zero_turns_it_off(monkeypatch):
    monkeypatch.setenv("NARRATRACE_DOCUMENT_SECONDS", "30")
    assert deadline.budget(0) == 30 and deadline.budget(50_000_000) == 30 + 50 * deadline.SECONDS_PER_MB
    monkeypatch.setenv("NARRATRACE_DOCUMENT_SECONDS", "0")
    assert deadline.budget(10**9) == 0
    assert deadline.call_with_deadline(lambda: 7, 0) == 7
