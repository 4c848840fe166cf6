"""Mixed Persian/English lines: names, titles and dates that share a line with other text are
isolated (<bdi>), so a Persian outlet name never scrambles the date beside it ("06:10 19-03-2026")."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi.testclient import TestClient

from narratrace.ingest.items import RawItem

REGISTRY = """
actors:
  - {id: veltria-state, name: Government of Veltria}
sources:
  - {id: sv, name: صدای ولتریا, actor: veltria-state, audience: domestic, language: fa, domains: [sv.example]}
"""


def test_document_page_isolates_names_and_dates(tmp_path):
    from narratrace.serve.app import create_app
    from narratrace.workspace import Workspace

    (tmp_path / "sources.yaml").write_text(REGISTRY, encoding="utf-8")
    with Workspace(tmp_path / "w.db", create=True) as ws:
        ws.import_sources(tmp_path / "sources.yaml")
        ws.ingest_items([RawItem(origin="sv-1", kind="record", source="sv", language="fa",
                                 published_at=datetime(2026, 3, 19, 6, 10), url="https://sv.example/1",
                                 text="دولت ولتریا گفت که بندر لنکس آرام است و تجارت ادامه دارد.")])
        doc_id = ws.documents()[0].id
    page = TestClient(create_app(str(tmp_path / "w.db"))).get(f"/documents/{doc_id}").text
    meta = re.search(r'<p class="meta">(.*?)</p>', page, re.S).group(1)
    assert '<bdi title="sv">صدای ولتریا</bdi>' in meta  # the outlet by name (its key in a tooltip), isolated
    assert re.search(r"<bdi>[^<]*2026[^<]*</bdi>", meta)  # and the date beside it
