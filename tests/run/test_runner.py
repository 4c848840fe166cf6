"""The runners of the model stages (narratrace.run): the Ray runner stores exactly what the local
runner stores, and a failed batch or a dead worker costs only the batches that never committed.

Ray runs as a local instance with 2 CPUs, started once for the module (RAY_AUTH_MODE=disabled:
Ray 2.60 otherwise writes an auth token under the home folder). Skipped when Ray is not installed.
"""

from __future__ import annotations

import math
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

# The demo's cache loses the vectors of every EVERY-th sentence text (passage and query kind): the
# runs below embed those (~140 texts of each kind) through the runner, match and find
# contradictions over the whole demo. A third of the demo keeps the file under ~3 minutes on 2 cores.
EVERY = 4
BATCH = 16  # small batches: several per runner, so a failure falls between committed batches


def _texts(con) -> list[tuple[int, str]]:
    return [(i, t[a:b]) for i, a, b, t in con.execute(
        'SELECT s.id, s.start, s."end", d.text FROM sentence s JOIN document d ON s.document_id = d.id')]


def _fresh(demo_build, dest: Path) -> Path:
    """A demo copy whose model results are gone: part of the embedding cache, the vector index,
    every narrative match and contradiction."""
    from conftest import copy_demo

    from narratrace.match.embed import text_key

    path = copy_demo(demo_build, dest)
    shutil.rmtree(str(path) + ".vectors", ignore_errors=True)
    con = sqlite3.connect(path)
    keys = [text_key(t, kind) for i, t in _texts(con) if i % EVERY == 0 for kind in ("passage", "query")]
    con.executemany("DELETE FROM embedding WHERE key = ?", [(k,) for k in keys])
    for table in ("vector_index_state", "narrative_match", "contradiction"):
        con.execute(f"DELETE FROM {table}")
    con.commit()
    con.close()
    return path


def _snapshot(path: Path) -> dict:
    con = sqlite3.connect(path)
    out = {
        "embedding": sorted(con.execute("SELECT model, key, vector FROM embedding")),
        "narrative_match": sorted(con.execute(
            "SELECT sentence_id, narrative_id, similarity, sim_assertion, sim_counter, stance, stance_score, "
            "p_entail, p_contradict, statement_id, embed_model, nli_model FROM narrative_match")),
        "contradiction": sorted(con.execute(
            "SELECT sentence_a_id, sentence_b_id, actor_id, kind, score, cross_audience, cross_language, "
            "similarity, p_contradict, narrative_a_id, narrative_b_id, embed_model, nli_model FROM contradiction"),
            key=repr),
    }
    con.close()
    return out


def _embeddings(path: Path) -> list:
    con = sqlite3.connect(path)
    rows = sorted(con.execute("SELECT model, key, vector FROM embedding"))
    con.close()
    return rows


@pytest.fixture(scope="module")
def small_batches():
    from narratrace.match import batches

    mp = pytest.MonkeyPatch()
    mp.setattr(batches, "EMBED_BATCH", BATCH)
    yield
    mp.undo()


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'narratrace[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield ray
    ray.shutdown()


def _analyse(path: Path, runner) -> dict:
    from narratrace import Workspace

    with Workspace(path) as ws:
        t0 = time.perf_counter()
        ws.analyze(["embed"], runner=runner)["embed"]["indexed"]
        t1 = time.perf_counter()
        embedded = _embeddings(path)
        ws.analyze(["match"], runner=runner)
        report = ws.analyze(["contradictions"], runner=runner)["contradictions"]
        t2 = time.perf_counter()
    print(f"\n{getattr(runner, 'name', runner)}: embed {t1 - t0:.1f} s, match + contradictions {t2 - t1:.1f} s")
    return {"after_index": embedded, "contradictions_report": report, **_snapshot(path)}


@pytest.fixture(scope="module")
def reference(demo_build, tmp_path_factory, small_batches):
    """The local runner's results (the default, as every other test sees it)."""
    path = _fresh(demo_build, tmp_path_factory.mktemp("runner-local"))
    return _analyse(path, "local")


def test_get_runner_defaults_to_local_and_names_the_choices(monkeypatch):
    from narratrace.run import RunnerError, get_runner

    monkeypatch.delenv("NARRATRACE_RUNNER", raising=False)
    assert get_runner().name == "local"
    monkeypatch.setenv("NARRATRACE_RUNNER", "ray")
    assert get_runner().name == "ray"  # nothing starts until the first batch
    assert get_runner("local").name == "local"
    with pytest.raises(RunnerError, match="local, ray"):
        get_runner("spark")


def test_missing_ray_says_which_extra_to_install(monkeypatch):
    from narratrace.run import RunnerError, get_runner

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    with pytest.raises(RunnerError, match=r"pip install 'narratrace\[ray\]'"):
        list(get_runner("ray").map(object, {}, [1]))


def test_reference_run_embedded_and_matched(reference):
    assert reference["narrative_match"] and reference["contradiction"]
    # the cross-encoder read every match and the candidate pairs through the runner
    assert all(r[7] is not None and r[11] for r in reference["narrative_match"])  # p_entail, nli_model
    assert reference["contradictions_report"]["nli_pairs_scored"] > 0


def test_ray_runner_stores_exactly_what_the_local_runner_stores(reference, ray_instance, tmp_path, small_batches,
                                                               demo_build):
    from narratrace.run.ray_runner import RayRunner

    got = _analyse(_fresh(demo_build, tmp_path), RayRunner())
    assert got["after_index"] == reference["after_index"]  # the same bytes per cached vector
    assert got["embedding"] == reference["embedding"]
    assert got["narrative_match"] == reference["narrative_match"]  # scores equal, not close
    assert got["contradiction"] == reference["contradiction"]


@pytest.mark.parametrize("name", ["local", "ray"])
def test_failed_batch_keeps_committed_batches_and_a_rerun_does_only_the_rest(
        name, reference, demo_build, tmp_path, monkeypatch, request, small_batches):
    from narratrace import Workspace
    from narratrace.match.batches import embed_sentences
    from narratrace.match.vectors import missing_sentence_texts
    from narratrace.run import FAULT_ENV, get_runner

    if name == "ray":
        request.getfixturevalue("ray_instance")
    path = _fresh(demo_build, tmp_path)
    base = len(_embeddings(path))
    with Workspace(path) as ws:
        vs = ws.context().vectors
        todo = len(missing_sentence_texts(vs))
        last = math.ceil(todo / BATCH) - 1
        assert last >= 3
        monkeypatch.setenv(FAULT_ENV, f"embed:{last}")  # the last batch fails on every attempt
        with pytest.raises(Exception, match="injected fault in embed batch"):
            embed_sentences(vs, get_runner(name))
        committed = len(_embeddings(path)) - base
        assert 0 < committed < todo
        if name == "local":
            assert committed == last * BATCH  # every batch before the failure, and only those
        monkeypatch.delenv(FAULT_ENV)
        assert len(missing_sentence_texts(vs)) == todo - committed
        again = embed_sentences(vs, get_runner(name))
        assert again == todo - committed  # nothing committed was embedded again
        ws.analyze(["embed"], runner=name)["embed"]["indexed"]
    assert _embeddings(path) == reference["after_index"]


def test_a_dead_ray_worker_is_replaced_and_the_job_completes(reference, ray_instance, demo_build, tmp_path,
                                                            monkeypatch, small_batches):
    from narratrace import Workspace
    from narratrace.run import FAULT_ENV

    marker = tmp_path / "killed-once"
    monkeypatch.setenv(FAULT_ENV, f"embed:2:exit:{marker}")  # the worker process exits mid-job, once
    path = _fresh(demo_build, tmp_path / "ws")
    with Workspace(path) as ws:
        ws.analyze(["embed"], runner="ray")["embed"]["indexed"]
    assert marker.exists()  # the fault fired…
    assert _embeddings(path) == reference["after_index"]  # …and the retried batch filled the gap


def test_cli_takes_the_runner_options(demo_build, tmp_path):
    from typer.testing import CliRunner

    from narratrace.cli.main import app

    cli = CliRunner()
    res = cli.invoke(app, ["analyze", "--help"])
    assert res.exit_code == 0 and "--runner" in res.output and "--ray-address" in res.output
    path = _fresh(demo_build, tmp_path)
    res = cli.invoke(app, ["index", "-w", str(path), "--runner", "spark"])
    assert res.exit_code != 0 and "unknown runner 'spark'" in res.output
    res = cli.invoke(app, ["index", "-w", str(path), "--runner", "local"])
    assert res.exit_code == 0, res.output
    assert "indexed" in res.output
