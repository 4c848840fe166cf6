"""Embeddings, vector index, semantic search, narrative registry, matching, stance, reviews,
prevalence and contradictions — on a small fictional corpus with the real models."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest
from conftest import write

from narratrace.ingest.items import RawItem

REGISTRY = """
actors:
  - id: kavaran-state
    name: Government of Kavaran
sources:
  - {id: kt, name: Kavaran Today, actor: kavaran-state, audience: foreign, language: en, domains: [kt.example]}
  - {id: kna, name: Kavaran News Agency, actor: kavaran-state, audience: domestic, language: fa, domains: [kna.example]}
  - {id: herald, name: Norland Herald, audience: foreign, language: en, domains: [herald.example]}
"""

NARRATIVES = """
narratives:
  - id: no-support
    name: The Front has no support at home
    assertions:
      - The Rah-e Azadi Front has no support inside Kavaran.
      - جبهه راه آزادی هیچ پایگاهی در داخل کشور ندارد.
    counters:
      - The Rah-e Azadi Front has wide support inside Kavaran.
    contradicts: [organises-unrest]
  - id: organises-unrest
    name: The Front organises the unrest
    assertions:
      - The Rah-e Azadi Front organised the protests in many cities.
      - جبهه راه آزادی اعتراضات را در شهرهای مختلف سازماندهی کرد.
"""

DOCS = [
    ("kt", "https://kt.example/1", datetime(2026, 3, 6, 8), "en",
     "The foreign minister said the Rah-e Azadi Front has no support inside Kavaran at all. "
     "She said the economy grew by four percent last year and exports rose."),
    ("kna", "https://kna.example/1", datetime(2026, 3, 4, 18), "fa",
     "دبیر شورای امنیت گفت جبهه راه آزادی اعتراضات را در چهارده شهر کشور سازماندهی کرده است. "
     "او افزود برداشت گندم امسال بیشتر از سال گذشته بوده است."),
    ("herald", "https://herald.example/1", datetime(2026, 3, 9, 7), "en",
     "Rights groups say the Front has wide support inside Kavaran among students and workers. "
     "The weather in the capital was mild on Monday."),
]


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    from narratrace import Workspace

    tmp = tmp_path_factory.mktemp("narr")
    ws = Workspace(tmp / "ws.db", create=True)
    ws.import_sources(write(tmp / "sources.yaml", REGISTRY))
    ws.ingest_items([RawItem(origin=u, kind="record", url=u, text=t, published_at=d, language=lang)
                     for _src, u, d, lang, t in DOCS])
    ws.import_narratives(write(tmp / "narratives.yaml", NARRATIVES))
    ws.analyze(["embed"])["embed"]["indexed"]
    report = ws.analyze(["match"])["match"]
    found = ws.analyze(["contradictions"])["contradictions"]
    yield ws, report, found, tmp
    ws.close()


def _sentence_id(ws, fragment: str) -> int:
    for s in ws.sentences():
        if fragment in s.text:
            return s.id
    raise AssertionError(fragment)


def test_embedding_cache_embeds_each_text_once(ws):
    from sqlalchemy import func, select

    from narratrace.store.models import Embedding

    vs = ws.context().vectors
    calls = []
    real = vs.embedder.embed
    vs.embedder.embed = lambda texts, kind="passage": (calls.append(list(texts)), real(texts, kind))[1]
    try:
        a = vs.embed(["The Front has no support.", "The  Front has no support. ", "جبهه پایگاهی ندارد."])
        b = vs.embed(["The Front has no support."])
    finally:
        vs.embedder.embed = real
    assert calls == [["The Front has no support.", "جبهه پایگاهی ندارد."]]  # whitespace variant shared; 2nd call cached
    assert np.allclose(a[0], b[0], atol=2e-3) and np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-3)
    with ws.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Embedding)) == 2
        assert s.scalar(select(Embedding.model).limit(1)) == vs.embedder.model_id


def test_semantic_search_crosses_languages(analysed):
    ws, *_ = analysed
    hits = ws.semantic_search("The movement organised demonstrations across the country", limit=3)
    assert hits[0].language == "fa" and "سازماندهی" in hits[0].text
    fa_only = ws.semantic_search("the Front has no supporters at home", limit=5, audience="foreign")
    assert fa_only and all(h.audience == "foreign" for h in fa_only)
    assert "no support inside Kavaran" in fa_only[0].text


def test_index_is_incremental_and_rebuilt_without_re_embedding(analysed):
    ws, _r, _f, tmp = analysed
    vs = ws.context().vectors
    assert vs.update() == 0  # nothing new
    n = len(vs.index())
    path = vs._path()
    assert path.exists()
    path.unlink()
    vs._index = None
    calls = []
    real = vs.embedder.embed
    vs.embedder.embed = lambda texts, kind="passage": (calls.append(texts), real(texts, kind))[1]
    try:
        assert len(vs.index()) == n
    finally:
        vs.embedder.embed = real
    assert calls == []


def test_matching_stance_and_reviews_survive_reruns(analysed):
    ws, report, *_ = analysed
    assert report["matches"] >= 3
    m = {(x.narrative, x.source): x for x in ws.matches()}
    assert m[("no-support", "kt")].stance == "asserts"
    assert m[("organises-unrest", "kna")].stance == "asserts"
    herald = m.get(("no-support", "herald"))
    # "Rights groups say …": the claim is the rights groups', reported (a collective), not the outlet's
    assert herald is not None and herald.holder_kind == "reported" and herald.holder == "Rights groups"
    sid = m[("no-support", "kt")].sentence_id
    ws.review("match", sid, "confirmed", narrative="no-support", stance="asserts", note="checked")
    ws.analyze(["match"])["match"]  # a re-run replaces matches, never reviews
    again = {(x.narrative, x.source): x for x in ws.matches()}
    assert again[("no-support", "kt")].review == "confirmed"
    assert again[("no-support", "kt")].reviewed_stance == "asserts"
    pairs = ws.reviewed_pairs()
    assert any(label == "entailment" and "no support" in p for p, _h, label in pairs)


@pytest.mark.xfail(strict=True, reason="known weakness (docs/decisions.md 2026-12-01): the stance model fitted on "
                                       "campaign-dev leans on cosines and calls a near-copy of the counter-statement "
                                       "'asserts'; a rule that lets an entailed counter decide was measured worse")
def test_known_weakness_a_sentence_entailing_the_counter_denies(analysed):
    ws, *_ = analysed
    herald = {(x.narrative, x.source): x for x in ws.matches()}[("no-support", "herald")]
    assert herald.stance == "denies"


def test_prevalence_counts_documents_by_audience(analysed):
    ws, *_ = analysed
    rows = ws.prevalence(period="week", by="audience")
    by = {(r.narrative, r.group): r.documents for r in rows}
    assert by[("no-support", "foreign")] == 1 and by[("organises-unrest", "domestic")] == 1
    assert all(r.period == "2026-03-02" for r in rows)  # ISO week starting Monday 2 March


def test_cross_audience_contradiction_of_one_actor(analysed):
    ws, _r, found, _t = analysed
    assert found["narratives"] >= 1
    rows = ws.contradictions(cross_audience=True)
    top = rows[0]
    assert top.actor == "kavaran-state" and top.cross_language
    assert {top.a_source, top.b_source} == {"kt", "kna"}
    assert top.a_published_at <= top.b_published_at  # earlier statement first
    assert {top.narrative_a, top.narrative_b} == {"no-support", "organises-unrest"}
    # the independent outlet is not the state's own statement
    assert all("herald" not in (c.a_source, c.b_source) for c in ws.contradictions())


def test_narrative_file_errors_name_the_line_and_store_nothing(ws, tmp_path):
    from narratrace.match.registry import NarrativeError

    good = write(tmp_path / "ok.yaml", NARRATIVES)
    ws.import_narratives(good)
    bad = write(tmp_path / "bad.yaml", NARRATIVES.replace("    counters:", "    counterz:"))
    with pytest.raises(NarrativeError, match=r"bad.yaml:3: unknown field 'counterz' \(did you mean 'counters'\?\)"):
        ws.import_narratives(bad)
    missing = write(tmp_path / "missing.yaml", "narratives:\n  - id: x\n    name: X\n")
    with pytest.raises(NarrativeError, match="missing.yaml:2: .*needs at least one statement"):
        ws.import_narratives(missing)
    with pytest.raises(NarrativeError, match="invalid YAML"):
        ws.import_narratives(write(tmp_path / "broken.yaml", "narratives: [\n  - id: x\n"))
    with pytest.raises(NarrativeError, match="unknown narratives: nope"):
        ws.import_narratives(write(tmp_path / "ref.yaml", "narratives:\n  - id: a\n    assertions: [A.]\n"
                                                          "    contradicts: [nope]\n"))
    with pytest.raises(NarrativeError, match="sens.yaml:2: 'sensitivity' must be a number between 0 and 1"):
        ws.import_narratives(write(tmp_path / "sens.yaml", "narratives:\n  - id: a\n    assertions: [A.]\n"
                                                           "    sensitivity: 1.5\n"))
    assert [n.key for n in ws.narratives()] == ["no-support", "organises-unrest"]
    assert ws.narratives()[0].counters == ["The Rah-e Azadi Front has wide support inside Kavaran."]


@pytest.mark.integration  # e5 over a 100,000-character text (3 s on 2 idle cores, 10 s under load)
def test_embedding_edge_cases(ws):
    from narratrace.errors import InvalidInput

    vs = ws.context().vectors
    v = vs.embed(["", "x" * 100_000, "Привет, как дела?", "😀"])
    assert v.shape == (4, vs.embedder.dim) and np.isfinite(v).all()
    with pytest.raises(InvalidInput, match="empty query"):
        ws.semantic_search("   ")


def test_compare_and_cli(analysed, tmp_path):
    from typer.testing import CliRunner

    from narratrace.cli.main import app

    ws, *_ = analysed
    res = ws.compare("The Front has no support inside the country.", "The Front has wide support inside the country.")
    assert set(res) >= {"label", "p_contradiction", "a_to_b", "b_to_a", "similarity", "nli_model"}
    assert abs(sum(v for k, v in res["a_to_b"].items() if k != "label") - 1) < 1e-3
    assert res["label"] == "contradiction"  # "no support" against "wide support", either way
    runner = CliRunner()
    r = runner.invoke(app, ["compare", "The Front has no support.", "جبهه پایگاهی ندارد.", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["label"] in ("entailment", "neutral", "contradiction")
    r = runner.invoke(app, ["contradictions", "--json", "-w", ws.path])
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["actor"] == "kavaran-state"
    r = runner.invoke(app, ["narratives", "list", "--json", "-w", ws.path])
    assert {n["key"] for n in json.loads(r.stdout)} == {"no-support", "organises-unrest"}
    chart = tmp_path / "p.html"
    r = runner.invoke(app, ["narratives", "prevalence", "--chart", str(chart), "--json", "-w", ws.path])
    assert r.exit_code == 0 and chart.read_text().count("vega") > 0
    png = tmp_path / "p.png"
    r = runner.invoke(app, ["narratives", "prevalence", "--by", "language", "--chart", str(png), "-w", ws.path])
    assert r.exit_code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = runner.invoke(app, ["search", "--semantic", "The movement organised demonstrations across the country",
                            "--json", "-n", "3", "-w", ws.path])
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["language"] == "fa"
    r = runner.invoke(app, ["review", "match", "999999", "--narrative", "no-support", "-w", ws.path])
    assert r.exit_code == 1 and "no sentence with id 999999" in r.output


@pytest.mark.integration  # fine-tunes the cross-encoder for a few steps through the CLI (~1 min on 2 cores)
def test_train_from_reviews_fine_tunes_a_loadable_model(analysed, tmp_path):
    """`narratrace train --from-reviews` on a tiny NLI set in nli-train's format (fictional
    sentences), with the workspace's reviews added: a model file that loads and scores pairs."""
    pytest.importorskip("torch")
    from typer.testing import CliRunner

    from narratrace.cli.main import app
    from narratrace.match.cross_nli import CrossNLI

    ws, *_ = analysed
    sid = _sentence_id(ws, "no support inside Kavaran")
    ws.review("match", sid, "confirmed", narrative="no-support", stance="asserts")
    en = [("The minister spoke in Dastgerd on Monday.", "The minister spoke.", "entailment"),
          ("The minister spoke in Dastgerd on Monday.", "The minister was silent all week.", "contradiction"),
          ("The minister spoke in Dastgerd on Monday.", "The minister wore a blue coat.", "neutral")]
    fa = [("وزیر روز دوشنبه در دستگرد سخن گفت.", "وزیر سخن گفت.", "entailment"),
          ("وزیر روز دوشنبه در دستگرد سخن گفت.", "وزیر تمام هفته سکوت کرد.", "contradiction"),
          ("وزیر روز دوشنبه در دستگرد سخن گفت.", "وزیر کت آبی پوشیده بود.", "neutral")]

    def rows(pairs, lang, days):
        return "\n".join(json.dumps({"premise": p.replace("Monday", d), "hypothesis": h, "label": lab, "lang": lang})
                         for d in days for p, h, lab in pairs)

    days = [f"day {k}" for k in range(40)]
    write(tmp_path / "eval" / "nli-train" / "snli-dev" / "dev.jsonl", rows(en, "en", days))
    write(tmp_path / "eval" / "nli-train" / "farstail" / "train.jsonl", rows(fa, "fa", ["x"]))
    write(tmp_path / "eval" / "nli-train" / "farstail" / "dev.jsonl", rows(fa, "fa", ["x"]))
    out = tmp_path / "cross.npz"
    r = CliRunner().invoke(app, ["train", "--from-reviews", "-w", ws.path, "--eval-dir", str(tmp_path / "eval"),
                                 "-o", str(out), "--steps", "3", "--train-layers", "1", "--json"])
    assert r.exit_code == 0, r.output
    model = CrossNLI(out)
    p = model.predict(["The Front has no support inside Kavaran."], ["The Front has no support at home."])
    assert p.shape == (1, 3) and abs(float(p.sum()) - 1) < 1e-3
    empty = CliRunner().invoke(app, ["train", "--eval-dir", str(tmp_path / "nowhere"), "-o", str(out)])
    assert empty.exit_code == 1 and "must hold nli-train/" in " ".join(empty.output.split())  # Rich wraps lines


@pytest.mark.integration  # real models over a fresh workspace: match, discover, re-match (6 s on 2 idle cores)
def test_discovery_proposes_stable_candidates_that_analysts_promote_or_dismiss(tmp_path):
    from narratrace import Workspace

    ws = Workspace(tmp_path / "d.db", create=True)
    ws.import_sources(write(tmp_path / "s.yaml", REGISTRY))
    claim = ["Officials said this year's wheat harvest was the largest in a decade across the whole country.",
             "This year's wheat harvest was the largest in a decade across the country, officials said on Monday.",
             "According to officials, the country's wheat harvest this year was the biggest in ten years."]
    filler = ["The railway to the northern provinces opened to passengers after six years of construction work.",
              "A film festival in the capital drew record crowds to see more than forty new feature films.",
              "The central bank left interest rates unchanged and said inflation was slowing this spring."]
    items = [RawItem(origin=f"d{i}", kind="record", url=f"https://{src}.example/{i}", text=f"{claim[i]} {filler[i]}",
                     published_at=datetime(2026, 3, 1 + i)) for i, src in enumerate(["kt", "kna", "herald"])]
    ws.ingest_items(items)
    ws.import_narratives(write(tmp_path / "n.yaml", NARRATIVES))
    ws.analyze(["match"])["match"]
    first = ws.analyze(["discover"])["discover"]
    cands = [n for n in ws.narratives() if n.status == "candidate"]
    assert first["new_candidates"] == 1 and len(cands) == 1, [c.as_dict() for c in cands]
    key = cands[0].key
    assert key.startswith("auto-") and all("harvest" in a for a in cands[0].assertions)
    # new documents: the same candidate id, updated
    ws.ingest_items([RawItem(origin="d9", kind="record", url="https://kt.example/9", published_at=datetime(2026, 3, 9),
                             text="The wheat harvest this year was the largest in a decade, the ministry said. "
                                  "Farmers in the south expect an even better crop next year if rain holds.")])
    second = ws.analyze(["discover"])["discover"]
    assert second["new_candidates"] == 0 and [n.key for n in ws.narratives() if n.status == "candidate"] == [key]
    ws.set_narrative_status(key, "active", name="Record harvest")
    ws.analyze(["match"])["match"]
    assert {m.narrative for m in ws.matches()} >= {key}
    ws.set_narrative_status(key, "dismissed")
    ws.analyze(["discover"])["discover"]
    assert key not in [n.key for n in ws.narratives()]  # dismissed stays dismissed …
    assert [n.status for n in ws.narratives(include_dismissed=True) if n.key == key] == ["dismissed"]
    assert not [n for n in ws.narratives() if n.status == "candidate"]  # … and is not proposed again
    ws.close()


def test_index_update_interrupted_mid_way_resumes_without_re_embedding(ws, monkeypatch):
    import narratrace.match.vectors as vectors

    ws.ingest_items([RawItem(origin=f"r{i}", kind="record", text=f"Statement number {i} about the harbour strike "
                             f"and the wages of dockworkers in Bandar Nilufar, item {i}.") for i in range(6)])
    monkeypatch.setattr(vectors, "BATCH", 2)
    vs = ws.context().vectors
    real = vs.embedder.embed
    calls = []
    kill = {"at": 2}

    def flaky(texts, kind="passage"):
        calls.append(len(texts))
        if len(calls) == kill["at"]:
            raise RuntimeError("killed")
        return real(texts, kind)

    monkeypatch.setattr(vs.embedder, "embed", flaky)
    with pytest.raises(RuntimeError, match="killed"):
        vs.update()
    calls.clear()
    kill["at"] = 0
    assert vs.update() == 6  # resumes from the stored state; the first batch comes from the cache
    assert sum(calls) == 4 and len(vs.index()) == 6
    assert vs.update() == 0


def test_registry_takes_disarm_technique_ids(ws, tmp_path):
    from narratrace.match.registry import NarrativeError

    ok = "narratives:\n- id: n1\n  assertions: [The Front has no support.]\n  disarm: [t0022, T0023.001]\n"
    ws.import_narratives(write(tmp_path / "n.yaml", ok))
    assert ws.narratives()[0].disarm == ["T0022", "T0023.001"]
    bad = ok.replace("t0022", "T22")
    with pytest.raises(NarrativeError, match=r"n.yaml:2: 'T22' is not a DISARM technique id"):
        ws.import_narratives(write(tmp_path / "n.yaml", bad))


def test_calibrate_against_reviews(analysed):
    """`narratives calibrate`: every reviewed match scored again, precision/recall per setting."""
    from typer.testing import CliRunner

    from narratrace.cli.main import app
    from narratrace.errors import NotFound

    ws, *_ = analysed
    weather = _sentence_id(ws, "weather in the capital")
    supported = _sentence_id(ws, "no support inside Kavaran")
    ws.review("match", supported, "confirmed", narrative="no-support")
    ws.review("match", weather, "rejected", narrative="no-support")
    rows = ws.calibrate_matching("no-support")
    assert [r["sensitivity"] for r in rows] == [round(0.1 * k, 1) for k in range(1, 10)]
    assert sum(r["default"] for r in rows) == 1
    loose = rows[-1]  # the most sensitive setting keeps the most
    assert loose["kept"] >= rows[0]["kept"] and all(r["recall"] is None or 0 <= r["recall"] <= 1 for r in rows)
    # the weather sentence is on no topic of the narrative: never kept at the default
    default = next(r for r in rows if r["default"])
    assert default["precision"] in (None, 1.0)
    r = CliRunner().invoke(app, ["narratives", "calibrate", "--narrative", "no-support", "--json", "-w", ws.path])
    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 9
    with pytest.raises(NotFound, match="no reviewed matches"):
        ws.calibrate_matching("organises-unrest")
