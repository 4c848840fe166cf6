from datetime import datetime

import pytest
from conftest import article_html, write

from narratrace.store.registry import RegistryError

PARAS = [
    "The Foreign Ministry of Kavaran said on Tuesday that the Rah-e Azadi Front has no support inside the country.",
    "Speaking to reporters in Dastgerd, the spokesman described the group as a small circle of exiles abroad.",
    "Observers in Norland noted that the statement was the third of its kind this month and echoed earlier claims.",
    "The Front rejected the remarks and said its members were active in every province of the country today.",
]

REGISTRY = """
actors:
  - id: kavaran-state
    name: Government of Kavaran
    aliases: [Kavaran government, دولت کاوران]
sources:
  - id: kt
    name: Kavaran Today
    actor: kavaran-state
    audience: foreign
    language: en
    kind: state-media
    domains: [kavarantoday.example]
  - id: kna
    name: Kavaran News Agency
    actor: kavaran-state
    audience: domestic
    language: fa
    domains: [kna.example]
    feeds: [https://kna.example/rss]
  - id: herald
    name: Norland Herald
    audience: foreign
    domains: [www.norlandherald.example]
"""


@pytest.fixture
def registry(tmp_path, ws):
    ws.import_sources(write(tmp_path / "sources.yaml", REGISTRY))
    return ws


def test_exact_and_near_duplicates_are_linked_not_dropped(registry, tmp_path):
    ws = registry
    write(tmp_path / "a.html", article_html("Ministry: Front has no support", PARAS,
                                            url="https://kavarantoday.example/a", published="2026-02-01T10:00:00+03:30"))
    # the same text on another outlet's page (different chrome): exact duplicate of clean text
    write(tmp_path / "b.html", article_html("Ministry: Front has no support", PARAS,
                                            url="https://news.norlandherald.example/b", footer="Email this | Print"))
    # light edit: one sentence added, headline changed
    edited = PARAS[:2] + ["A second official repeated the claim later in the afternoon in a televised address."] + PARAS[2:]
    write(tmp_path / "c.html", article_html("Front lacks support, ministry says", edited,
                                            url="https://kna.example/c"))
    write(tmp_path / "d.html", article_html("Harvest festival opens", [
        "The annual harvest festival opened in the northern province with music and dancing on Saturday.",
        "Farmers brought apples, pears and walnuts from villages across the valley to sell in the square."],
        url="https://kna.example/d"))
    report = ws.ingest([str(tmp_path / n) for n in ("a.html", "b.html", "c.html", "d.html")])
    assert (report.added, report.exact_duplicates, report.near_duplicates) == (4, 1, 1)
    docs = {d.url: d for d in ws.documents()}
    a, b, c, d = (docs[u] for u in ("https://kavarantoday.example/a", "https://news.norlandherald.example/b",
                                    "https://kna.example/c", "https://kna.example/d"))
    assert b.duplicate_of == a.id and b.duplicate_kind == "exact"
    assert c.duplicate_of == a.id and c.duplicate_kind == "near" and 0.7 <= c.duplicate_score < 1
    assert d.duplicate_of is None
    # sources by domain, with subdomains; audience and actor come from the registry
    assert (a.source, a.audience, a.actor) == ("kt", "foreign", "kavaran-state")
    assert b.source == "herald" and c.source == "kna"
    assert a.published_at == datetime(2026, 2, 1, 6, 30)  # stored in UTC
    stats = ws.stats()
    assert stats["exact_duplicates"] == 1 and stats["near_duplicates"] == 1 and stats["unique_documents"] == 2
    assert stats["undated_documents"] == sum(x.published_at is None for x in ws.documents(limit=None))


def test_explicit_source_and_unknown_source(registry, tmp_path):
    write(tmp_path / "x.txt", "A statement\nThe Front has no support at home, officials said again today.")
    r = registry.ingest([str(tmp_path / "x.txt")], source="herald")
    assert registry.documents()[0].source == "herald" and r.added == 1
    with pytest.raises(RegistryError, match="unknown source 'nope'"):
        registry.ingest([str(tmp_path / "x.txt")], source="nope")


def test_registry_csv_and_conflicts(ws, tmp_path):
    # a CSV has no actors section: the actor it names must be imported first (actors must exist)
    ws.import_sources(write(tmp_path / "a.yaml", "actors: [{id: rah-e-azadi, name: Rah-e Azadi Front}]\n"))
    csv_path = write(tmp_path / "s.csv", "id,name,actor,audience,language,domains,feeds\n"
                                         "opp,Azadi Voice,rah-e-azadi,diaspora,en,azadivoice.example;av.example,\n")
    counts = ws.import_sources(csv_path)
    assert counts["sources"] == 1 and counts["locators"] == 2
    src = ws.sources()[0]
    assert (src.key, src.actor, src.audience, sorted(src.domains)) == ("opp", "rah-e-azadi", "diaspora",
                                                                        ["av.example", "azadivoice.example"])
    # importing again is an update, not a duplicate
    assert ws.import_sources(csv_path)["locators"] == 0
    clash = write(tmp_path / "c.yaml", "sources:\n  - id: other\n    domains: [av.example]\n")
    with pytest.raises(RegistryError, match="already registered"):
        ws.import_sources(clash)
    bad = write(tmp_path / "bad.yaml", "sources: [{name: no id}]\n")
    with pytest.raises(RegistryError, match="no 'id'"):
        ws.import_sources(bad)


def test_search_with_filters_and_hostile_queries(registry, tmp_path):
    ws = registry
    write(tmp_path / "en.html", article_html("Front is a cult, says minister", [
        "The minister told foreign journalists that the Front is a cult with no support inside Kavaran.",
        "He repeated the claim twice during the press conference in the capital on Monday morning."],
        url="https://kavarantoday.example/en", published="2026-02-03T08:00:00Z"))
    write(tmp_path / "fa.html", article_html("جبهه پشت اغتشاشات است", [
        "رئیس شورا گفت که جبهه راه آزادی اغتشاشات دانشگاه‌ها را سازماندهی کرده است و باید پاسخگو باشد.",
        "او افزود که شبکه‌های این گروه در چند شهر فعال هستند و نیروهای امنیتی آن‌ها را زیر نظر دارند."],
        url="https://kna.example/fa", published="2026-02-05T08:00:00+03:30", lang="fa"))
    assert ws.ingest([str(tmp_path)]).added == 2
    hits = ws.search("cult")
    assert [h.source for h in hits] == ["kt"] and "⟨cult⟩" in hits[0].snippet
    assert ws.search("cult", audience="domestic") == []
    assert [h.source for h in ws.search("اغتشاشات")] == ["kna"]
    assert [h.language for h in ws.search("جبهه", language="fa")] == ["fa"]
    assert ws.search("cult", since=datetime(2026, 2, 4)) == []
    assert len(ws.search("cult", until=datetime(2026, 2, 4), actor="kavaran-state")) == 1
    assert len(ws.search('"no support"')) == 1 and ws.search('"support no"') == []
    assert len(ws.search("cul*")) == 1
    assert len(ws.search("cult OR اغتشاشات")) == 2
    for hostile in ['"', "NEAR(", "a AND OR NOT", "*", "col:val", "') DROP TABLE document; --", "^"]:
        ws.search(hostile)  # never raises: input is tokenised, not passed as FTS syntax
    assert ws.stats()["documents"] == 2
    df = ws.search("cult").df()
    assert list(df["source"]) == ["kt"]


def test_duplicate_links_point_at_the_earliest_published_copy(ws):
    """Ingest order is arbitrary; the group's root is whoever published first, and a document
    that bridges two groups merges them under that root."""
    from narratrace.ingest.items import RawItem

    base = " ".join(PARAS)
    edit_a = base.replace("on Tuesday", "late on Tuesday").replace("third of its kind", "latest of its kind")
    edit_b = base.replace("Speaking to reporters in Dastgerd", "Talking to journalists in Dastgerd")

    def item(name, text, day):
        return RawItem(origin=name, kind="record", text=text, published_at=datetime(2026, 3, day, 10))

    ws.ingest_items([item("copy-a", edit_a, 9), item("copy-b", edit_b, 8)])
    ws.ingest_items([item("original", base, 5)])
    docs = {d.origin: d for d in ws.documents()}
    orig = docs["original"]
    assert orig.duplicate_of is None
    assert docs["copy-a"].duplicate_of == orig.id and docs["copy-b"].duplicate_of == orig.id
    assert docs["copy-a"].duplicate_kind == "near" and 0.7 <= docs["copy-a"].duplicate_score < 1
    # an identical, later text links to the same root with score 1
    ws.ingest_items([item("same", base, 12)])
    same = next(d for d in ws.documents() if d.origin == "same")
    assert (same.duplicate_of, same.duplicate_kind, same.duplicate_score) == (orig.id, "exact", 1.0)
    assert ws.stats()["unique_documents"] == 1
