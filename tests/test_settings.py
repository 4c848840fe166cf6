"""The NARRATRACE_* settings table: complete, documented, and the only reader of the environment."""

from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path

import pytest

from narratrace import settings

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "narratrace"
DOC = ROOT / "docs" / "settings.md"
NAME = re.compile(r"NARRATRACE_[A-Z_]+")
START, END = "<!-- settings:start -->", "<!-- settings:end -->"

# Modules (paths under src/narratrace, fnmatch patterns) still allowed to read NARRATRACE_*
# variables without narratrace.settings. Delete a line once its module is switched.
ALLOWED_DIRECT_READS: tuple[str, ...] = ()  # every module reads its settings through settings.get()


def _scanned_files() -> list[Path]:
    """Every text file of src/, tests/, bench/ and .ci/ but this one (build outputs left out)."""
    this = Path(__file__).resolve()
    return [p for d in ("src", "tests", "bench", ".ci") for p in (ROOT / d).rglob("*")
            if p.is_file() and p.resolve() != this and "__pycache__" not in p.parts
            and not any(part.endswith(".egg-info") for part in p.parts)]


def test_every_variable_used_is_a_setting():
    used: dict[str, str] = {}
    for p in _scanned_files():
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # model weights and other binaries
            continue
        for m in NAME.finditer(text):
            used.setdefault(m.group(), str(p.relative_to(ROOT)))
    assert used, "the scan found no NARRATRACE_ variable at all"
    missing = {n: where for n, where in used.items() if n not in settings.BY_NAME}
    assert not missing, f"add these to settings.SETTINGS: {missing}"


def test_rows_are_unique_and_well_formed():
    names = [s.name for s in settings.SETTINGS]
    assert len(names) == len(set(names))
    assert set(settings.BY_NAME) == set(names)
    for s in settings.SETTINGS:
        assert NAME.fullmatch(s.name), s.name
        assert s.scope in ("user", "test"), s
        assert s.help.strip(), s.name
        assert s.default is None or isinstance(s.default, str), s


def test_defaults_agree_with_the_code():
    from narratrace.match import device, embed
    from narratrace.run import FAULT_ENV, RUNNER_ENV, RUNNERS
    from narratrace.workspace import DEFAULT_WORKSPACE

    assert settings.BY_NAME["NARRATRACE_WORKSPACE"].default == DEFAULT_WORKSPACE
    assert settings.BY_NAME[RUNNER_ENV].default == RUNNERS[0] == "local"
    assert settings.BY_NAME[FAULT_ENV].default is None
    assert settings.BY_NAME[device.ENV].default == "auto"
    assert settings.BY_NAME[device.ENV_PRECISION].default == "float32"
    assert settings.BY_NAME["NARRATRACE_EMBEDDER"].default == embed.DEFAULT
    assert settings.BY_NAME["NARRATRACE_EMBED_ENGINE"].default == embed.ENGINES[0]


def test_doc_holds_the_generated_table():
    text = DOC.read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1
    table = text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert table == settings.markdown_table(), (
        "docs/settings.md is stale: replace its table with settings.markdown_table()")
    for s in settings.SETTINGS:
        assert f"`{s.name}`" in table, s.name


def test_get_default_value_and_stripping(monkeypatch):
    monkeypatch.delenv("NARRATRACE_DEVICE", raising=False)
    monkeypatch.delenv("NARRATRACE_PG_BIN", raising=False)
    assert settings.get("NARRATRACE_DEVICE") == "auto"
    assert settings.get("NARRATRACE_PG_BIN") is None
    monkeypatch.setenv("NARRATRACE_DEVICE", "  cuda:1 \n")
    assert settings.get("NARRATRACE_DEVICE") == "cuda:1"
    monkeypatch.setenv("NARRATRACE_DEVICE", "   ")  # blank counts as unset
    assert settings.get("NARRATRACE_DEVICE") == "auto"
    monkeypatch.setenv("NARRATRACE_PG_BIN", "/opt/pg/bin")
    assert settings.get("NARRATRACE_PG_BIN") == "/opt/pg/bin"


def test_get_refuses_an_unknown_name(monkeypatch):
    unknown = "NARRATRACE" + "_NO_SUCH_SETTING"  # split so the scan above does not see it
    monkeypatch.setenv(unknown, "x")
    with pytest.raises(KeyError):
        settings.get(unknown)
    with pytest.raises(KeyError):
        settings.get("narratrace_device")  # names are exact


def test_reads_go_through_settings(monkeypatch):
    """A few readers, end to end: the environment value reaches them through settings.get."""
    from narratrace.match import device
    from narratrace.run import fault_spec
    from narratrace.serve.auth import tokens_from_env

    monkeypatch.setenv("NARRATRACE_DEVICE", " CPU ")
    assert device.resolve() == device.Device("numpy", "cpu")
    monkeypatch.setenv("NARRATRACE_PRECISION", "bfloat16")
    assert device.precision() == "bfloat16"
    monkeypatch.setenv("NARRATRACE_FAULT", "")
    assert fault_spec() is None
    monkeypatch.setenv("NARRATRACE_TOKENS", "ana:analyst:0123456789, bob:viewer:abcdefghij")
    assert tokens_from_env() == {"0123456789": ("ana", "analyst"), "abcdefghij": ("bob", "viewer")}
    monkeypatch.delenv("NARRATRACE_TOKENS")
    assert tokens_from_env() == {}


def _module_constants(tree: ast.Module) -> dict[str, str]:
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = node.value.value
    return out


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or \
        (isinstance(node, ast.Name) and node.id == "environ")


def _env_reads(path: Path) -> list[str]:
    """``os.environ.get(X)``, ``os.getenv(X)``, ``os.environ[X]`` (read), ``X in os.environ`` and
    click/typer's ``envvar=X``, with X a NARRATRACE_ literal or a module constant holding one:
    "line: name" for each."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    consts = _module_constants(tree)

    def name_of(arg: ast.AST) -> str | None:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            value = arg.value
        elif isinstance(arg, ast.Name):
            value = consts.get(arg.id, "")
        else:
            return None
        return value if value.startswith("NARRATRACE_") else None

    found = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Call) and node.args:
            f = node.func
            environ_get = isinstance(f, ast.Attribute) and f.attr in ("get", "pop") and _is_environ(f.value)
            getenv = (isinstance(f, ast.Attribute) and f.attr == "getenv") or \
                (isinstance(f, ast.Name) and f.id == "getenv")
            if environ_get or getenv:
                key = node.args[0]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_environ(node.value):
            key = node.slice
        elif isinstance(node, ast.Compare) and len(node.comparators) == 1 \
                and isinstance(node.ops[0], (ast.In, ast.NotIn)) and _is_environ(node.comparators[0]):
            key = node.left
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "envvar" and name_of(kw.value):
                    found.append(f"{node.lineno}: {name_of(kw.value)} (envvar=)")
        name = name_of(key) if key is not None else None
        if name:
            found.append(f"{node.lineno}: {name}")
    return found


def test_the_scanner_sees_reads(tmp_path):
    p = tmp_path / "probe.py"
    p.write_text('import os\nENV = "NARRATRACE_X"\na = os.environ.get(ENV)\nb = os.getenv("NARRATRACE_Y")\n'
                 'c = os.environ["NARRATRACE_Z"]\nd = "NARRATRACE_W" in os.environ\n'
                 'os.environ["NARRATRACE_V"] = "1"\ne = os.environ.get("HOME")\n'
                 'f = Option("--w", envvar="NARRATRACE_U")\n', encoding="utf-8")
    assert [r.split(": ")[0] for r in _env_reads(p)] == ["3", "4", "5", "6", "9"]


def test_only_settings_reads_the_environment():
    offenders = {}
    for p in sorted(SRC.rglob("*.py")):
        rel = p.relative_to(SRC).as_posix()
        if rel == "settings.py" or any(fnmatch.fnmatch(rel, pat) for pat in ALLOWED_DIRECT_READS):
            continue
        reads = _env_reads(p)
        if reads:
            offenders[rel] = reads
    assert not offenders, f"read these through narratrace.settings.get(): {offenders}"


def test_allowance_list_names_real_files():
    files = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")]
    for pat in ALLOWED_DIRECT_READS:
        assert fnmatch.filter(files, pat), f"{pat} matches no module: remove it from ALLOWED_DIRECT_READS"
