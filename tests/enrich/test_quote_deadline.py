"""The quote stage's per-document deadline (issue 15): a document whose quote extraction runs past its
budget is named in the stage's ``overruns`` and left without quotes, and the run goes on — on the
main thread (a signal stops it wherever it is) and in a server thread (``POST /api/analyze``: the
deadline is checked between steps). And the worst shape found, a long run of punctuation without
spaces, no longer stalls spaCy's tokenizer (quadratic before: "!?" × 2,000 took 20 s)."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import write

from narratrace.enrich import annotate as annotate_mod
from narratrace.enrich import stages
from narratrace.enrich.annotate import Annotated, annotate
from narratrace.enrich.entities import Gazetteer
from narratrace.ingest import deadline


@pytest.fixture
def three_docs(ws, tmp_path):
    d = tmp_path / "in"
    write(d / "a.txt", "Norvale council\n\nThe council of Norvale met on Monday and approved the budget.")
    write(d / "b.txt", "Runaway post\n\nThis post stands for one whose quote extraction never ends.")
    write(d / "c.txt", "Kestrel bridge\n\nThe mayor of Kestrel said the bridge will reopen in spring.")
    assert ws.ingest([str(d)], workers=1).added == 3
    return ws


def _runaway(step):
    """annotate() that never ends on the runaway post (``step()`` between its steps), else nothing found."""
    def fake(text, *args, **kwargs):
        while "never ends" in text:
            step()
        return Annotated()
    return fake


def _busy():  # pure Python work: the signal interrupts it anywhere
    sum(range(10_000))


def test_an_overrun_on_the_main_thread_is_named_and_the_run_goes_on(three_docs, monkeypatch):
    monkeypatch.setenv("NARRATRACE_DOCUMENT_SECONDS", "0.5")
    monkeypatch.setattr(stages, "annotate", _runaway(_busy))
    t0 = time.perf_counter()
    rep = three_docs.analyze(["quotes"])["quotes"]
    assert time.perf_counter() - t0 < 20
    assert rep["documents"] == 2
    (overrun,) = rep["overruns"]
    assert "b.txt" in overrun and "quote extraction ran past its time budget" in overrun
    assert "NARRATRACE_DOCUMENT_SECONDS" in overrun
    from narratrace.cli.analysis import summary  # the CLI's one line names it too
    assert f"no quotes for {overrun}" in summary({"quotes": rep})
    # Recorded as done: the next analyze does not stall on it again.
    again = three_docs.analyze(["quotes"])["quotes"]
    assert again["documents"] == 0 and again["overruns"] == []


def test_an_overrun_in_a_server_thread_stops_at_the_next_step(three_docs, monkeypatch):
    monkeypatch.setenv("NARRATRACE_DOCUMENT_SECONDS", "0.5")
    monkeypatch.setattr(stages, "annotate", _runaway(lambda: (deadline.checkpoint(), time.sleep(0.01))))
    box: dict = {}
    th = threading.Thread(target=lambda: box.update(rep=three_docs.analyze(["quotes"])["quotes"]))
    th.start()
    th.join(30)
    assert not th.is_alive(), "the quote stage stalled in a thread"
    assert box["rep"]["documents"] == 2 and "b.txt" in box["rep"]["overruns"][0]


def test_annotate_checks_the_deadline_between_language_runs(monkeypatch):
    """The real annotate() off the main thread: each language run is a step; a document of many
    slow runs stops after the budget plus one run, not after all of them."""
    def slow(chunk, lang, **kwargs):
        time.sleep(0.05)
        return []
    monkeypatch.setattr(annotate_mod, "extract_quotes", slow)
    text = "".join(f"Line {i}.\n" for i in range(200))
    sents, pos = [], 0
    for i, line in enumerate(text.splitlines(keepends=True)):
        sents.append((pos, pos + len(line) - 1, "en" if i % 2 else "fa"))  # 200 runs of one sentence
        pos += len(line)
    box: dict = {}

    def run():
        t0 = time.perf_counter()
        try:
            deadline.call_with_deadline(lambda: annotate(text, sents, "en", Gazetteer({}), {}), 0.3,
                                        what="quote extraction")
        except deadline.Overrun as exc:
            box["exc"] = exc
        box["seconds"] = time.perf_counter() - t0

    th = threading.Thread(target=run)
    th.start()
    th.join(30)
    assert "quote extraction ran past" in str(box["exc"]) and box["seconds"] < 2  # all 200 runs: 10 s


def test_the_cooperative_deadline_is_per_thread_and_cleared_after():
    deadline.checkpoint()  # none set here: nothing happens
    seen: list = []

    def run():
        deadline.call_with_deadline(lambda: seen.append("ok"), 5)
        time.sleep(0.01)
        deadline.checkpoint()  # the deadline ended with its call
        seen.append("after")

    th = threading.Thread(target=run)
    th.start()
    th.join(10)
    assert seen == ["ok", "after"]


def test_a_long_punctuation_run_does_not_stall_the_parse():
    from narratrace.enrich.quotes import english_pipeline, extract_quotes
    from narratrace.enrich.quotes.english import parse

    nlp = english_pipeline()
    text = "“The bridge is safe,” said Mara Venn.\n" + "!?" * 20_000 + "\n“It reopens in spring,” Venn said.\n"
    t0 = time.perf_counter()
    doc = parse(nlp, text)
    found = extract_quotes(text, "en", nlp=nlp)
    assert time.perf_counter() - t0 < 15  # before: ~20 s per 4,000 characters, quadratic (hours here)
    assert len(doc.text) == len(text)  # the run is one plain word of the same length: offsets exact
    assert [t.idx for t in doc if t.text == "Venn"] == [text.index("Venn"), text.rindex("Venn")]
    assert [text[q.start:q.end] for q in found] == ["The bridge is safe,", "It reopens in spring,"]
