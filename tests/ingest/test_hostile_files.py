"""Hostile folders and files: symlinks out of the folder, symlink loops, JSON nested past any
parser, file names that are not UTF-8. Each becomes a one-line problem naming the input (or is
ingested), the rest of the folder is stored, and the run never dies with a traceback."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import write
from typer.testing import CliRunner

from narratrace.cli.main import app
from narratrace.ingest.files import MAX_DEPTH, discover

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks and byte file names")

GOOD = "The foreign ministry spokesman said on Monday that the group has no base inside the country."
OTHER = "The minister told reporters that its supporters abroad are only a handful of fugitives."
SECRET = "root:x:0:0:root:/root:/bin/bash\nThis secret line lives outside the folder and must not be stored."
CP1256_NAME = "خبر مهم".encode("cp1256") + b".txt"  # not UTF-8: a Persian name from a zip archive


def origins(ws) -> list[str]:
    return sorted(d.origin for d in ws.documents())


def reasons(report) -> list[str]:
    return [p.line() for p in report.skipped + report.failed]


@pytest.fixture
def outside_link(tmp_path) -> Path:
    """corpus/ with one good file and passwd.txt -> a file outside corpus/."""
    write(tmp_path / "secret" / "passwd", SECRET)
    corpus = tmp_path / "corpus"
    write(corpus / "good.txt", GOOD)
    (corpus / "passwd.txt").symlink_to(tmp_path / "secret" / "passwd")
    return corpus


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_symlink_out_of_the_folder_is_skipped_and_named(ws, outside_link):
    report = ws.ingest([str(outside_link)])
    assert report.added == 1
    assert origins(ws) == [str(outside_link / "good.txt")]
    (problem,) = report.skipped
    assert problem.origin == str(outside_link / "passwd.txt")
    assert "symlink to outside the folder" in problem.reason and "--follow-symlinks" in problem.reason
    assert not any("secret line" in (d.text or "") for d in ws.documents(with_text=True))


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_follow_symlinks_opts_in(ws, outside_link):
    report = ws.ingest([str(outside_link)], follow_symlinks=True)
    assert report.added == 2, reasons(report)
    assert not report.skipped and not report.failed


def test_a_file_named_directly_is_read_wherever_it_points(outside_link):
    files, problems = discover([str(outside_link / "passwd.txt")])
    assert files == [outside_link / "passwd.txt"] and not problems


def test_glob_obeys_the_same_rule(outside_link):
    files, problems = discover([str(outside_link / "*.txt")])
    assert files == [outside_link / "good.txt"]
    assert [p.origin for p in problems] == [str(outside_link / "passwd.txt")]
    files, problems = discover([str(outside_link / "**" / "*.txt")], follow_symlinks=True)
    assert len(files) == 2 and not problems


@pytest.mark.parametrize("follow", [False, True])
def test_symlink_loops_finish_and_are_reported_once(tmp_path, follow):
    root = tmp_path / "root"
    write(root / "a" / "one.txt", GOOD)
    write(root / "b" / "two.txt", OTHER)
    (root / "a" / "loop").symlink_to("..")  # a/loop -> root
    (root / "b" / "self").symlink_to(".")  # b/self -> b
    (root / "a" / "to_b").symlink_to("../b")  # not a loop: b is walked once, at its real place
    (root / "knot1").symlink_to("knot2")  # a loop of links: resolves to nothing
    (root / "knot2").symlink_to("knot1")
    for pattern in (str(root), str(root / "**" / "*.txt")):
        files, problems = discover([pattern], follow_symlinks=follow)
        assert sorted(f.resolve() for f in files) == [(root / "a" / "one.txt").resolve(),
                                                      (root / "b" / "two.txt").resolve()]
        lines = sorted(p.line() for p in problems)
        assert len(lines) == 4, lines
        assert sum("symlink loop: points back to" in x for x in lines) == 2
        assert sum("broken symlink or symlink loop" in x for x in lines) == 2
        assert any(str(root / "a" / "loop") in x for x in lines)


def test_loop_out_of_the_given_folder(tmp_path):
    """a/loop -> .. leaves a/, but says the more useful thing: it is a loop, followed or not."""
    write(tmp_path / "a" / "one.txt", GOOD)
    write(tmp_path / "outside.txt", OTHER)
    (tmp_path / "a" / "loop").symlink_to("..")
    for follow in (False, True):
        files, problems = discover([str(tmp_path / "a")], follow_symlinks=follow)
        assert [f.resolve() for f in files] == [(tmp_path / "a" / "one.txt").resolve()]
        assert [p.origin for p in problems] == [str(tmp_path / "a" / "loop")]
        assert problems[0].reason.startswith("symlink loop: points back to")


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_deeply_nested_jsonl_record_fails_alone(ws, tmp_path):
    deep = 100_000
    lines = [json.dumps({"text": GOOD}),
             '{"text": "nested", "x": ' + "[" * deep + "]" * deep + "}",
             '{"text": "almost", "x": ' + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "}",
             json.dumps({"text": OTHER}),
             json.dumps({"text": "A lone \ud800 surrogate stays one record: " + GOOD[4:]})]
    path = write(tmp_path / "posts.jsonl", "\n".join(lines) + "\n")
    report = ws.ingest([str(path)])
    assert report.added == 3, reasons(report)
    assert sorted(p.origin for p in report.failed) == [f"{path}#2", f"{path}#3"]
    assert all(p.reason == f"nesting deeper than {MAX_DEPTH}" for p in report.failed)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_deeply_nested_telegram_export_fails_alone(ws, tmp_path):
    d = tmp_path / "export"
    write(d / "result.json", '{"messages": ' + "[" * 100_000 + "]" * 100_000 + "}")
    write(d / "good.txt", GOOD)
    report = ws.ingest([str(d)])
    assert report.added == 1
    assert [p.origin for p in report.failed] == [str(d / "result.json")]


@pytest.fixture
def cp1256_folder(tmp_path) -> Path:
    d = tmp_path / "zip"
    write(d / "good.txt", GOOD)
    with open(os.fsencode(d) + b"/" + CP1256_NAME, "wb") as fh:
        fh.write(OTHER.encode())
    with open(os.fsencode(d) + b"/" + CP1256_NAME.replace(b".txt", b".jsonl"), "wb") as fh:
        fh.write(b'{"text": "bad"}\n{"text": "bad", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}\n")
    return d


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_file_name_that_is_not_utf8_is_ingested_with_its_bytes_escaped(ws, cp1256_folder):
    report = ws.ingest([str(cp1256_folder)])
    assert report.added == 3, reasons(report)
    escaped = os.fsencode(cp1256_folder / os.fsdecode(CP1256_NAME)).decode("utf-8", "backslashreplace")
    jsonl = escaped.replace(".txt", ".jsonl")
    assert origins(ws) == sorted([str(cp1256_folder / "good.txt"), escaped, jsonl + "#1"])
    (failed,) = report.failed  # and a problem in such a file is storable and printable too
    assert failed.origin == jsonl + "#2"
    failed.origin.encode("utf-8")
    again = ws.ingest([str(cp1256_folder)])
    assert again.added == 0 and again.already_present == 3


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_cli_ingest_lists_the_problems_and_exits_0(store_url, outside_link, cp1256_folder, tmp_path):
    (outside_link / "loop").symlink_to(".")
    result = CliRunner().invoke(app, ["ingest", str(outside_link), str(cp1256_folder), "--workspace", store_url,
                                      "--workers", "1"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "added 3" in out and "already present 1" in out  # good.txt is in both folders
    assert f"skipped {outside_link / 'passwd.txt'}: symlink to outside the folder" in out
    assert "symlink loop" in out
    assert f"nesting deeper than {MAX_DEPTH}" in out
    result = CliRunner().invoke(app, ["ingest", str(outside_link), "--follow-symlinks", "--workspace", store_url,
                                      "--json"])
    assert result.exit_code == 0, result.output
