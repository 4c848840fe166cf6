"""Records as tables: typed DataFrame columns (also for an empty result) and typed Parquet."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from narratrace.records import AuditInfo, Records
from narratrace.report.export import export_records


def _audit(i: int, at: datetime | None, target: str | None) -> AuditInfo:
    return AuditInfo(i, at, "ana", "analyst", "review", target, {"n": i})


def test_an_empty_result_keeps_its_columns():
    df = Records(of=AuditInfo).df()
    assert list(df.columns) == ["id", "at", "user", "role", "action", "target", "detail"] and len(df) == 0
    assert Records([_audit(1, datetime(2026, 3, 1), "x")]).of is AuditInfo  # taken from the first item


def test_columns_are_typed_timestamps_and_nullable_integers(tmp_path):
    rows = Records([_audit(1, datetime(2026, 3, 1, 10, 5), "match:1"), _audit(2, None, None)], of=AuditInfo)
    df = rows.df()
    assert pd.api.types.is_datetime64_any_dtype(df["at"]) and df["at"].isna().tolist() == [False, True]
    assert str(df["id"].dtype) == "Int64"
    out = tmp_path / "a.parquet"
    assert export_records(rows, "parquet", str(out)) == 2
    back = pd.read_parquet(out)
    assert pd.api.types.is_datetime64_any_dtype(back["at"]) and back["at"][0] == pd.Timestamp("2026-03-01 10:05")
    assert back["detail"].tolist() == ['{"n": 1}', '{"n": 2}']  # nested values as JSON text, as in CSV
    empty = tmp_path / "e.parquet"
    assert export_records(Records(of=AuditInfo), "parquet", str(empty)) == 0
    assert list(pd.read_parquet(empty).columns) == list(df.columns)
