import json

import pandas as pd
import pytest
from conftest import article_html, write
from typer.testing import CliRunner

from narratrace.cli.main import app

runner = CliRunner()



def _all_commands() -> list[list[str]]:
    """Every command and sub-command the app registers (so a new one cannot skip --help)."""
    import typer

    out = []

    def walk(cmd, path):
        if path:
            out.append(path)
        if getattr(cmd, "commands", None):  # a group
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return out


COMMANDS = _all_commands()


def run(*args, ok=True):
    result = runner.invoke(app, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("cmd", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(cmd):
    assert len(COMMANDS) >= 25
    out = run(*cmd, "--help").output
    assert "Example" in out and "narratrace" in out


@pytest.fixture
def filled(tmp_path):
    w = tmp_path / "cli.db"
    write(tmp_path / "s.yaml", "sources:\n  - id: kt\n    name: Kavaran Today\n    audience: foreign\n"
                               "    language: en\n    domains: [kavarantoday.example]\n")
    write(tmp_path / "in" / "a.html", article_html("Front is a cult", [
        "The minister told foreign reporters that the Front is a cult with no support at home.",
        "He spoke for twenty minutes and took no questions from the press afterwards."],
        url="https://kavarantoday.example/a", published="2026-02-03T08:00:00Z"))
    write(tmp_path / "in" / "b.txt", "یادداشت\nرئیس شورا گفت که جبهه اغتشاشات را سازماندهی کرده است.")
    run("init", "-w", w)
    run("sources", "import", tmp_path / "s.yaml", "-w", w)
    return w, tmp_path


def test_ingest_list_show_search_stats_export(filled):
    w, tmp = filled
    summary = json.loads(run("ingest", tmp / "in", "-w", w, "--json").stdout)
    assert summary["added"] == 2 and summary["failed"] == []
    assert json.loads(run("ingest", tmp / "in", "-w", w, "--json").stdout)["already_present"] == 2

    docs = json.loads(run("docs", "list", "-w", w, "--json").stdout)
    assert {d["language"] for d in docs} == {"en", "fa"}
    assert json.loads(run("docs", "list", "-w", w, "--json", "--audience", "foreign").stdout)[0]["source"] == "kt"
    assert json.loads(run("docs", "list", "-w", w, "--json", "--since", "2026-02-04").stdout) == []
    en = next(d for d in docs if d["language"] == "en")
    shown = json.loads(run("docs", "show", en["id"], "-w", w, "--json").stdout)
    for s in shown["sentences"]:
        assert shown["text"][s["start"]:s["end"]] == s["text"]
    assert "Front is a cult" in run("docs", "show", en["id"], "--sentences", "-w", w).stdout

    hits = json.loads(run("search", "cult", "-w", w, "--json").stdout)
    assert [h["source"] for h in hits] == ["kt"]
    assert json.loads(run("search", "اغتشاشات", "-w", w, "--json", "--language", "fa").stdout)[0]["language"] == "fa"

    stats = json.loads(run("stats", "-w", w, "--json").stdout)
    assert stats["documents"] == 2 and stats["sources"] == 1 and stats["languages"] == {"en": 1, "fa": 1}

    run("export", "--format", "csv", "--output", tmp / "d.csv", "-w", w)
    run("export", "--format", "parquet", "--output", tmp / "d.parquet", "-w", w)
    run("export", "--format", "csv", "--records", "sentences", "--output", tmp / "s.csv", "-w", w)
    for df in (pd.read_csv(tmp / "d.csv"), pd.read_parquet(tmp / "d.parquet")):
        assert len(df) == 2 and any("no support at home" in t for t in df["text"])
    assert len(pd.read_csv(tmp / "s.csv")) >= 3
    lines = run("export", "--format", "jsonl", "--output", "-", "-w", w).stdout.splitlines()
    assert len(lines) == 2 and all("text" in json.loads(x) for x in lines)
    sources = run("export", "--format", "jsonl", "--records", "sources", "--output", "-", "-w", w).stdout
    assert json.loads(sources)["domains"] == ["kavarantoday.example"]


def test_errors_are_one_clear_line(filled, tmp_path):
    w, tmp = filled
    r = run("docs", "show", "999", "-w", w, ok=False)
    assert r.exit_code == 1 and "no document with id 999" in r.output
    r = run("stats", "-w", tmp_path / "missing.db", ok=False)
    assert r.exit_code == 1 and "no workspace" in r.output and "narratrace init" in r.output
    r = run("ingest", tmp / "in", "--map", "nonsense", "-w", w, ok=False)
    assert r.exit_code == 1 and "FIELD=COLUMN" in r.output
    r = run("ingest", tmp / "in", "--source", "nope", "-w", w, ok=False)
    assert r.exit_code == 1 and "unknown source 'nope'" in r.output
    r = run("search", "x", "--since", "yesterday-ish", "-w", w, ok=False)
    assert r.exit_code == 1 and "not a date" in r.output
    r = run("export", "--format", "xml", "--output", "-", "-w", w, ok=False)
    assert r.exit_code == 1 and "unknown format" in r.output
    r = run("ingest", "-w", w, ok=False)
    assert r.exit_code == 1 and "nothing to ingest" in r.output


def test_workspace_from_environment(tmp_path, monkeypatch):
    w = tmp_path / "env.db"
    monkeypatch.setenv("NARRATRACE_WORKSPACE", str(w))
    run("init")
    assert w.exists()
    assert json.loads(run("stats", "--json").stdout)["documents"] == 0


def test_error_messages_keep_square_brackets(capsys):
    """Errors are printed through rich: "pip install 'narratrace[web]'" must not lose "[web]" as markup."""
    import typer

    from narratrace.cli import common

    with pytest.raises(typer.Exit):
        common.fail("the web server needs the web extra: pip install 'narratrace[web]' ([bold]x[/])")
    assert "narratrace[web]" in capsys.readouterr().err.replace("\n", "")


def test_no_silent_mistakes_on_the_command_line(tmp_path):
    db = tmp_path / "w.db"
    run("init", "--workspace", db)
    # every input failed, or none existed: a non-zero exit, with the reason
    r = run("ingest", tmp_path / "missing", "--workspace", db, ok=False)
    assert r.exit_code == 1 and "no such file or directory" in r.output and "nothing was ingested" in r.output
    r = run("ingest", "https://news.example/a?id=1", "--workspace", db, ok=False)
    assert r.exit_code == 1 and "--url https://news.example/a?id=1" in r.output
    # a filter typo is an error with the closest value, not "no matches"
    r = run("docs", "list", "--audience", "foriegn", "--workspace", db, ok=False)
    assert r.exit_code == 1 and "did you mean 'foreign'" in r.output
    # a read on a workspace that does not exist does not create one
    r = run("docs", "list", "--workspace", tmp_path / "typo.db", ok=False)
    assert r.exit_code != 0 and not (tmp_path / "typo.db").exists()


def test_a_record_title_is_segmented_as_the_first_paragraph(tmp_path):
    db = tmp_path / "w.db"
    write(tmp_path / "r.jsonl", json.dumps({"title": "Minister of Kavaran says the Front has no support",
                                            "text": "The statement came on Monday in Dastgerd after a long meeting."}) + "\n")
    run("ingest", tmp_path / "r.jsonl", "--workspace", db)
    from narratrace import Workspace

    with Workspace(db) as ws:
        doc = ws.document(ws.documents()[0].id)
    assert doc.text.startswith(doc.title + "\n\n")
    assert any(doc.text[s.start:s.end] == doc.title for s in doc.sentences)


def test_the_cli_starts_without_its_heavy_libraries():
    """A read command (`docs list`, `stats`) must not pay for libraries only some commands use:
    each of these costs 0.2-1.5 s at start (datasketch alone pulls scipy: 1.5 s, onnxruntime
    0.25 s, measured)."""
    import subprocess
    import sys

    heavy = ("scipy", "datasketch", "torch", "pandas", "altair", "networkx", "stix2", "spacy", "ray", "dateparser",
             "onnx", "onnxruntime", "usearch")
    code = f"import sys, narratrace.cli.main; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imported at CLI start: {out}"
    # `--help` and a mistyped command load no store and no analysis (0.5 s instead of 3.2 s,
    # bench/RESULTS.md 2026-12-02), and a read command opens the workspace without the ingest stack
    first = ("narratrace.workspace", "sqlalchemy", "numpy", "trafilatura")
    code = f"import sys, narratrace.cli.main; print(','.join(m for m in {first!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imported before any command runs: {out}"
    ingest = ("trafilatura", "narratrace.ingest.pipeline")
    code = f"import sys, narratrace.workspace; print(','.join(m for m in {ingest!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imported with the workspace: {out}"
