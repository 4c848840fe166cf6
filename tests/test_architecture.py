"""The shape of the code, enforced: faces never touch the store, imports sit at module top (or
say why not), there is one error family and one declared pipeline."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from narratrace import errors, pipeline
from narratrace.context import REGISTRY, stage

SRC = Path(__file__).resolve().parent.parent / "src" / "narratrace"
FACES = ("cli", "serve", "report", "demo")
FORBIDDEN = ("sqlalchemy", "narratrace.store.models", "narratrace.store.queries")


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node, a.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node, node.module


def _face_files():
    for face in FACES:
        yield from sorted((SRC / face).rglob("*.py"))


@pytest.mark.parametrize("path", list(_face_files()), ids=lambda p: str(p.relative_to(SRC)))
def test_faces_import_no_orm_and_run_no_sql(path):
    """cli/, serve/, report/ and demo/ read through the Workspace and the records catalogue."""
    bad = [f"line {node.lineno}: {name}" for node, name in _imports(path)
           if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]
    text = path.read_text(encoding="utf-8")
    for needle in (".sessions(", ".sessions.begin(", "s.execute(", ".engine."):
        if needle in text:
            bad.append(f"uses {needle}")
    assert not bad, f"{path.relative_to(SRC)} touches the store: {bad}"


def test_the_check_catches_a_face_that_imports_the_orm(tmp_path):
    """The walk above is not vacuous: it finds an ORM import where one is."""
    f = tmp_path / "face.py"
    f.write_text("def f():\n    from narratrace.store.models import Document\n    return Document\n")
    assert [n for _, n in _imports(f)] == ["narratrace.store.models"]


def test_every_error_class_is_in_the_family():
    """Every exception class narratrace defines descends from NarratraceError and carries its
    HTTP status and CLI exit code (no face picks them by message text)."""
    stray = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and (node.name.endswith("Error") or node.name in ("NotFound", "Conflict")):
                bases = {ast.unparse(b) for b in node.bases}
                if path.name != "errors.py" and not bases & {"InvalidInput", "NotFound", "Conflict", "TooLarge",
                                                             "Unavailable", "StoreFailure", "NarratraceError",
                                                             "WorkspaceError"}:
                    if node.name != "ErrorOut":  # the API's pydantic error schema, not an exception
                        stray.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}({', '.join(bases)})")
    assert not stray, stray
    for cls in (errors.InvalidInput, errors.NotFound, errors.Conflict, errors.Unavailable, errors.StoreFailure):
        assert issubclass(cls, errors.NarratraceError)
        assert isinstance(cls.status, int) and isinstance(cls.exit_code, int)
    assert errors.NotFound.status == 404 and errors.Unavailable.exit_code == 3


def test_pipeline_order_satisfies_every_requirement():
    pipeline.check()  # also ran at import
    assert set(pipeline.ORDER) == set(REGISTRY)
    assert [s for s in pipeline.ORDER if s in pipeline.DEFAULT] == list(pipeline.DEFAULT)
    for st in pipeline.stages():
        params = inspect.signature(st.run).parameters
        assert list(params)[0] == "ctx", f"stage {st.name} must take the Context first"
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(params.values())[1:]), st.name


def test_check_rejects_a_requirement_no_earlier_stage_writes():
    with pytest.raises(errors.InvalidInput, match="requires narrative_match"):
        pipeline.check(("embed", "contradictions", "match"))
    with pytest.raises(errors.InvalidInput, match="unknown stage"):
        pipeline.check(("embed", "nonsense"))


def test_plan_pulls_in_incremental_stages_and_refuses_missing_ones():
    assert pipeline.plan(["contradictions", "embed"], done={"match": "1"}) == ["embed", "contradictions"]
    assert pipeline.plan(["contradictions"], done={"match": "1"}) == ["embed", "contradictions"]  # embed pulled in
    assert pipeline.plan(["coordination"]) == ["coordination"]  # needs no vectors index first
    assert pipeline.plan(None) == list(pipeline.DEFAULT)
    with pytest.raises(errors.Conflict, match="needs narrative_match from stage 'match'"):
        pipeline.plan(["contradictions"])
    with pytest.raises(errors.InvalidInput, match="unknown stage"):
        pipeline.plan(["contradiction"])


def test_a_stage_cannot_be_declared_twice():
    with pytest.raises(ValueError, match="declared twice"):
        stage("embed")(lambda ctx: {})
