"""The sources registry refuses mistakes, naming file and line (store/registry.py)."""

from __future__ import annotations

import pytest
from conftest import write

from narratrace.errors import InvalidInput
from narratrace.ingest.items import RawItem
from narratrace.store.registry import RegistryError, SourceMatcher, check_kind, normalize_locator

GOOD = """actors:
  - id: kv-gov
    name: Government of Kavaran
sources:
  - id: kt
    name: Kavaran Today
    actor: kv-gov
    audience: foreign
    kind: state news agency abroad
    domains: [kavarantoday.example]
  - id: kt-fa
    name: Kavaran Today (Persian)
    actor: kv-gov
    audience: domestic
    kind: news site
    domains: [kavarantoday.example/fa]
  - id: dastgerd-channel
    name: Dastgerd channel
    audience: domestic
    kind: messaging channel
    channels: [dastgerd_news]
"""


@pytest.mark.parametrize("body,message", [
    ("sources:\n  - id: a\n    audience: international\n", r"s\.yaml:3: unknown audience 'international'"),
    ("sources:\n  - id: a\n    audience: foriegn\n", r"s\.yaml:3: .*did you mean 'foreign'\?"),
    ("sources:\n  - id: a\n    kind: brodcaster\n", r"s\.yaml:3: unknown kind 'brodcaster'; did you mean 'broadcaster'\?"),
    ("sources:\n  - id: a\n    actor: nobody\n", r"s\.yaml:3: unknown actor 'nobody'"),
    ("sources:\n  - id: a\n  - id: b\n  - id: a\n", r"s\.yaml:4: source id 'a' is given twice \(first at .*s\.yaml:2\)"),
    ("actors:\n  - id: x\n  - id: x\n", r"s\.yaml:3: actor id 'x' is given twice"),
    ("sources:\n  - id: a\n    domains: [one.example]\n  - id: b\n    domains:\n      - two.example\n      - www.One.example\n",
     r"s\.yaml:7: domain 'one\.example' of source 'b' is also given to source 'a' \(.*s\.yaml:3\)"),
    ("sources:\n  - id: a\n    audiance: foreign\n", r"s\.yaml:3: unknown field 'audiance'.*did you mean 'audience'"),
    ("sources:\n  - id: a\n    domains: [not a domain]\n", r"s\.yaml:3: 'not a domain' is not a domain"),
    ("source:\n  - id: a\n", r"unknown top-level key 'source'; did you mean 'sources'"),
])
def test_mistakes_name_file_and_line(ws, tmp_path, body, message):
    with pytest.raises(RegistryError, match=message):
        ws.import_sources(write(tmp_path / "s.yaml", body))
    assert ws.sources() == []  # checked before anything is written


def test_csv_rows_are_named_by_line_and_actors_must_exist(ws, tmp_path):
    path = write(tmp_path / "s.csv", "id,name,actor,audience\nok,Fine,,foreign\nbad,Bad,,overseas\n")
    with pytest.raises(RegistryError, match=r"s\.csv:3: unknown audience 'overseas'"):
        ws.import_sources(path)
    path = write(tmp_path / "t.csv", "id,name,actor,audience\nok,Fine,ghost-party,foreign\n")
    with pytest.raises(RegistryError, match="unknown actor 'ghost-party'.*define it under 'actors:'"):
        ws.import_sources(path)


def test_a_domain_held_by_a_stored_source_is_refused_with_its_line(ws, tmp_path):
    ws.import_sources(write(tmp_path / "a.yaml", GOOD))
    assert ws.import_sources(write(tmp_path / "a.yaml", GOOD))["locators"] == 0  # re-import: an update
    other = write(tmp_path / "b.yaml", "sources:\n  - id: other\n    domains:\n      - kavarantoday.example\n")
    with pytest.raises(RegistryError, match=r"b\.yaml:4: domain 'kavarantoday\.example' is already registered "
                                            r"to another source \('kt'"):
        ws.import_sources(other)


def test_path_scoped_domains_and_channels_in_urls(ws, tmp_path):
    ws.import_sources(write(tmp_path / "a.yaml", GOOD))
    texts = {"https://www.kavarantoday.example/fa/news/12": "kt-fa",
             "https://kavarantoday.example/FA": "kt-fa",
             "https://m.kavarantoday.example/fa/x": "kt-fa",
             "https://kavarantoday.example/farsi/1": "kt",
             "https://kavarantoday.example/en/fa": "kt",
             "https://t.messenger.example/s/dastgerd_news/812": "dastgerd-channel",
             "https://elsewhere.example/fa/1": None}
    items = [RawItem(origin=f"u{i}.txt", kind="text", url=u,
                     data=f"Headline {i}\nThe ministry in Dastgerd issued statement number {i} on the harvest.".encode())
             for i, u in enumerate(texts)]
    assert ws.ingest_items(items, workers=1).added == len(texts)
    got = {d.url: d.source for d in ws.documents()}
    assert got == texts


def test_matcher_prefers_the_more_specific_host_then_the_longer_path():
    m = SourceMatcher({}, {"site.example": 1, "site.example/fa": 2, "en.site.example": 3, "site.example/fa/sport": 4},
                      {}, {}, path_depth=2)
    assert m.match_url("https://en.site.example/fa/1") == 3
    assert m.match_url("https://site.example/fa/sport/9") == 4
    assert m.match_url("https://site.example/fa/politics/9") == 2
    assert m.match_url("https://site.example/") == 1


def test_locators_and_kinds_normalise():
    assert normalize_locator("https://WWW.Site.example/Fa/") == "site.example/fa"
    assert normalize_locator("site.example") == "site.example"
    with pytest.raises(InvalidInput):
        normalize_locator("site example")
    assert check_kind("aggregator (copy of a wire story)") is None
    assert check_kind("خبرگزاری") is None  # another script: not checked against the English words
    assert "state-media" in check_kind("state-meda")


def test_source_from_folder_warns_about_folders_it_cannot_place(ws, tmp_path):
    ws.import_sources(write(tmp_path / "a.yaml", GOOD))
    body = "Headline\nThe ministry in Dastgerd issued a statement on the harvest and the roads today."
    write(tmp_path / "corpus" / "kt" / "a.txt", body + " One.")
    write(tmp_path / "corpus" / "kt_fa" / "b.txt", body + " Two.")
    report = ws.ingest([str(tmp_path / "corpus")], source_from_folder=True)
    assert report.added == 2
    assert [w.origin.rsplit("/", 1)[-1] for w in report.warnings] == ["kt_fa"]
    assert "not a registered source id; did you mean 'kt-fa'?" in report.warnings[0].reason
    assert sorted(d.source or "-" for d in ws.documents()) == ["-", "kt"]
