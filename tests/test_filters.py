"""One meaning for since/until everywhere (narratrace.filters)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from narratrace.errors import InvalidInput
from narratrace.filters import Filters


def test_a_bare_date_is_the_whole_day_in_utc():
    f = Filters.of(since="2026-03-01", until="2026-03-01")
    assert f.since == datetime(2026, 3, 1, tzinfo=UTC)
    assert f.until == datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC)
    assert f.until_utc == datetime(2026, 3, 1, 23, 59, 59, 999999)  # what the store compares (naive UTC)
    assert Filters.of(until=date(2026, 3, 1)).until == f.until


def test_timestamps_are_utc_and_zones_are_converted():
    assert Filters.of(since="2026-03-01 10:00").since == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert Filters.of(since="2026-03-01T10:00:00+03:30").since_utc == datetime(2026, 3, 1, 6, 30)
    assert Filters.of(until=datetime(2026, 3, 1, 10)).until.tzinfo is UTC


def test_bad_dates_name_the_field_and_empty_values_mean_no_filter():
    with pytest.raises(InvalidInput, match="until 'yesterday' is not a date"):
        Filters.of(until="yesterday")
    assert not Filters.of(source="", actor="", since="", until=None)
    f = Filters.of(Filters.of(audience="foreign"), source=["a", "b"])
    assert f.audience == "foreign" and f.source == ("a", "b")
    assert f.as_dict() == {"source": ["a", "b"], "audience": "foreign"}


def test_until_a_day_keeps_a_document_published_late_that_day(ws):
    from narratrace.ingest.items import RawItem

    ws.ingest_items([RawItem(origin=f"r{i}", kind="record", text=f"Statement number {i} about the harbour.",
                             published_at=datetime(2026, 3, 1 + i, 23, 30)) for i in range(2)], workers=1)
    assert len(ws.documents(until="2026-03-01")) == 1
    assert len(ws.documents(since="2026-03-02")) == 1
    assert len(ws.documents(until="2026-03-01 23:00")) == 0


def test_audience_and_language_are_validated_with_a_hint():
    with pytest.raises(InvalidInput, match=r"unknown audience 'foriegn'; did you mean 'foreign'\?"):
        Filters.of(audience="foriegn")
    with pytest.raises(InvalidInput, match="unknown audience 'international'.*domestic, foreign"):
        Filters.of(audience="international")
    assert Filters.of(audience="Foreign", language="FA").as_dict() == {"audience": "foreign", "language": "fa"}
    with pytest.raises(InvalidInput, match="language 'persian' is not a language code; did you mean 'fa'"):
        Filters.of(language="persian")


def test_source_and_actor_keys_are_checked_against_the_workspace_keys():
    f = Filters.of(source=["kt", "kna"], actor="kv-gov")
    assert f.check_known(sources={"kt", "kna"}, actors={"kv-gov"}) is f
    with pytest.raises(InvalidInput, match=r"unknown source 'kta'; did you mean 'kt'\?"):
        Filters.of(source="kta").check_known(sources={"kt", "kna"}, actors=set())
    with pytest.raises(InvalidInput, match=r"unknown actor 'kv-gv'; did you mean 'kv-gov'\?"):
        Filters.of(actor="kv-gv").check_known(sources=set(), actors={"kv-gov"})


def test_since_after_until_is_refused():
    with pytest.raises(InvalidInput, match="is after until"):
        Filters.of(since="2026-03-02", until="2026-03-01")
