"""Hostile registry YAML (alias bombs) and CSV formula injection in exports.

A bomb that expanded would exhaust memory rather than fail, so the bombs are loaded in a
subprocess with a timeout: a regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import narratrace.demo
from narratrace.enrich.entities import EntityError, load_entities
from narratrace.errors import InvalidInput
from narratrace.match.registry import NarrativeError, load_narratives
from narratrace.report.export import export_records
from narratrace.store.registry import RegistryError, load_registry
from narratrace.store.safe_yaml import MAX_YAML_CHARS, load_yaml

DEMO = Path(narratrace.demo.__file__).parent / "data"


def bomb(wrap: str) -> str:
    """Nine levels of ten aliases each: ~10^9 nodes if expanded, ~500 bytes on disk."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{cur}: &{cur} [{', '.join([f'*{prev}'] * 10)}]")
    return "\n".join(lines) + "\n" + wrap + "\n"


BOMBS = {
    "sources": ("narratrace.store.registry", "load_registry", "RegistryError",
                "sources: [{id: x, name: *i}]"),
    "narratives": ("narratrace.match.registry", "load_narratives", "NarrativeError",
                   "narratives: [{id: x, assertions: *i}]"),
    "entities": ("narratrace.enrich.entities", "load_entities", "EntityError",
                 "entities: [{id: x, aliases: *i}]"),
}

CHILD = """
import sys
from pathlib import Path
from importlib import import_module
mod, fn, err, path = sys.argv[1:]
try:
    getattr(import_module(mod), fn)(Path(path))
except getattr(import_module(mod), err) as exc:
    print("REFUSED", exc)
else:
    print("LOADED")
"""


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_alias_bomb_is_refused_before_expansion(kind, tmp_path):
    mod, fn, err, wrap = BOMBS[kind]
    path = tmp_path / f"{kind}-bomb.yaml"
    path.write_text(bomb(wrap), encoding="utf-8")
    assert path.stat().st_size < 1024
    done = subprocess.run([sys.executable, "-c", CHILD, mod, fn, err, str(path)],
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("REFUSED"), done.stdout
    assert str(path) in done.stdout and "alias" in done.stdout


@pytest.mark.parametrize("loader,error", [(load_registry, RegistryError), (load_narratives, NarrativeError),
                                          (load_entities, EntityError)])
def test_single_alias_is_refused_with_file_and_line(loader, error, tmp_path):
    path = tmp_path / "reg.yaml"
    path.write_text("x: &n hello\nsources: [{id: a, name: *n}]\n", encoding="utf-8")
    with pytest.raises(error) as info:
        loader(path)
    assert isinstance(info.value, InvalidInput)
    assert f"{path}:2" in str(info.value) and "'*n'" in str(info.value)


def test_anchor_without_alias_and_oversized_document():
    assert load_yaml("a: &x 1\n", "f.yaml") == {"a": 1}
    with pytest.raises(InvalidInput, match="big.yaml.*split it"):
        load_yaml(" " * (MAX_YAML_CHARS + 1), "big.yaml")
    with pytest.raises(InvalidInput, match="bad.yaml: invalid YAML"):
        load_yaml("a: [1,\n", "bad.yaml")


def test_demo_registries_load_as_before():
    for name in ("sources", "narratives", "entities"):
        raw = (DEMO / f"{name}.yaml").read_text(encoding="utf-8")
        assert load_yaml(raw, name) == yaml.safe_load(raw)
    reg = load_registry(DEMO / "sources.yaml")
    assert (len(reg["actors"]), len(reg["sources"])) == (2, 9)
    specs = load_narratives(DEMO / "narratives.yaml")
    assert len(specs) == 6 and all(s.line > 0 for s in specs)
    assert len(load_entities(DEMO / "entities.yaml")) == 16


# -- CSV formula injection ---------------------------------------------------------------------

DANGEROUS = ['=HYPERLINK("http://evil","x")', "=cmd|' /C calc'!A0", "@SUM(A1:A2)", "+1+1", "-2+3",
             '=DDE("cmd";"/C calc";"x")', "\t=1+1", "\r=1+1"]
RECORDS = [{"id": i, "text": t, "n": -5, "f": -1.5} for i, t in enumerate(DANGEROUS)] + [
    {"id": 99, "text": "ordinary text, a = b and 1 + 1", "n": 3, "f": 0.5}]


def _csv(tmp_path, **kw) -> list[dict]:
    out = tmp_path / "out.csv"
    assert export_records(RECORDS, "csv", str(out), **kw) == len(RECORDS)
    with open(out, encoding="utf-8", newline="") as f:   # newline="": keep a cell's own \r
        return list(csv.DictReader(f))


def test_csv_neutralises_each_formula_prefix(tmp_path):
    rows = _csv(tmp_path)
    for row, value in zip(rows, DANGEROUS):
        assert row["text"] == "'" + value
        assert (row["n"], row["f"]) == ("-5", "-1.5")   # numbers are not strings: untouched
    assert rows[-1]["text"] == "ordinary text, a = b and 1 + 1"


def test_csv_raw_formulas_flag_keeps_values(tmp_path):
    rows = _csv(tmp_path, csv_formulas=True)
    assert [r["text"] for r in rows] == [r["text"] for r in RECORDS]


def test_jsonl_keeps_exact_values(tmp_path):
    out = tmp_path / "out.jsonl"
    export_records(RECORDS, "jsonl", str(out))
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == RECORDS


def test_cli_export_neutralises_formulas_unless_asked(tmp_path):
    from typer.testing import CliRunner

    from narratrace.cli.main import app
    from narratrace.ingest.items import RawItem
    from narratrace.workspace import Workspace

    ws = Workspace(tmp_path / "x.db", create=True)
    ws.ingest_items([RawItem(origin="r1", kind="record", title='=HYPERLINK("http://evil.example","x")',
                             text="A fictional statement about the harbour of Dastgerd.")], workers=1)
    ws.close()
    safe, raw = tmp_path / "safe.csv", tmp_path / "raw.csv"
    r = CliRunner().invoke(app, ["export", "-f", "csv", "-o", str(safe), "-w", str(tmp_path / "x.db")])
    assert r.exit_code == 0, r.output
    assert "'=HYPERLINK(" in safe.read_text(encoding="utf-8")
    r = CliRunner().invoke(app, ["export", "-f", "csv", "-o", str(raw), "--csv-raw-formulas", "-w", str(tmp_path / "x.db")])
    assert r.exit_code == 0, r.output
    text = raw.read_text(encoding="utf-8")
    assert "=HYPERLINK(" in text and "'=HYPERLINK(" not in text


def test_graph_csv_edges_neutralise_formulas(tmp_path):
    import networkx as nx

    from narratrace.report.graphs import write_graph

    g = nx.DiGraph()
    g.add_edge("=cmd|' /C calc'!A0", "outlet-a", weight=1)
    out = tmp_path / "edges.csv"
    assert write_graph(g, "csv", out) == (2, 1)
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[1][0] == "'=cmd|' /C calc'!A0" and rows[1][1] == "outlet-a"
