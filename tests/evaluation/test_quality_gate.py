"""The evaluation gate: extraction quality on published data must stay above the floors
recorded in quality/floors.toml (lower a floor only on purpose, in its own commit)."""

import tomllib

import pytest
from conftest import REPO, shared_path

from narratrace.evaluation.extraction import evaluate, narratrace_extractor

FLOORS = tomllib.loads((REPO / "quality" / "floors.toml").read_text())

# quality gate over ../shared: extracts all 181 pages of the extraction benchmark
pytestmark = pytest.mark.integration


def test_extraction_benchmark_floors():
    root = shared_path("eval", "extraction")
    result = evaluate(root, narratrace_extractor)
    print(f"\nextraction benchmark: {result}")
    assert result["pages"] == 181
    for metric, floor in FLOORS["extraction"].items():
        assert result[metric] >= floor, f"{metric} {result[metric]:.4f} fell below the floor {floor}"
