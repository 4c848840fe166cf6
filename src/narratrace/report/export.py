"""Exports of records as CSV, JSONL or Parquet, to a file or to stdout ('-')."""

from __future__ import annotations

import csv
import io
import json
import sys

from narratrace.errors import InvalidInput

FORMATS = ("csv", "jsonl", "parquet")


class ExportError(InvalidInput):
    pass


# CSV injection (OWASP): a spreadsheet runs a cell that starts with one of these as a formula
# (=HYPERLINK(…), =cmd|…, @SUM(…), +…, -…, =DDE(…)); ingested text is hostile, so CSV cells that
# start with one get a leading single quote, which spreadsheets show as text. Only *string* cells:
# a number stored as a number (-5) is left alone, while the string "-5" becomes "'-5" as OWASP
# prescribes. JSONL and Parquet keep exact values: they are data formats read by programs, not
# opened by spreadsheets, and a changed value there would be a silent corruption.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _flat(value):
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def neutralise_formula(value):
    """A CSV cell a spreadsheet will not run: ``'`` before a string that starts like a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def export_records(records, fmt: str, output: str, *, csv_formulas: bool = False) -> int:
    """Write records (a ``Records`` list, or plain dicts); returns how many. Parquet needs a real
    file or a binary stdout; from ``Records`` its columns are typed (timestamps, nullable integers,
    also for an empty result), lists and nested records as JSON text.
    CSV cells that start like a formula are neutralised unless ``csv_formulas`` (see FORMULA_PREFIXES)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format '{fmt}' (choose one of: {', '.join(FORMATS)})")
    if fmt == "parquet":
        import pandas as pd  # lazy: pandas costs ~90 MB RSS and +0.3 s at CLI start (measured)

        if hasattr(records, "df"):
            df = records.df()
            for col in df.columns:
                if df[col].dtype == object:  # lists, dicts, nested records: JSON text, as in CSV
                    df[col] = df[col].map(lambda v: None if v is None else json.dumps(v, ensure_ascii=False,
                                                                                      default=str))
        else:
            df = pd.DataFrame([{k: _flat(v) for k, v in r.items()} for r in records])
        if output == "-":
            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            sys.stdout.buffer.write(buf.getvalue())
        else:
            df.to_parquet(output, index=False)
        return len(records)
    if hasattr(records, "dicts"):
        records = records.dicts()
    stream = sys.stdout if output == "-" else open(output, "w", encoding="utf-8", newline="")
    try:
        if fmt == "jsonl":
            for r in records:
                stream.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
        else:
            cols: list[str] = []
            for r in records:
                cols.extend(k for k in r if k not in cols)
            w = csv.DictWriter(stream, fieldnames=cols)
            w.writeheader()
            cell = _flat if csv_formulas else (lambda v: neutralise_formula(_flat(v)))
            for r in records:
                w.writerow({k: cell(v) for k, v in r.items()})
    finally:
        if stream is not sys.stdout:
            stream.close()
    return len(records)
