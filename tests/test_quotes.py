"""Quote and speaker attribution (narratrace.enrich.quotes) and its evaluation gates.

Unit tests run the real spaCy English model and the real Persian rule file; the gates score
PolNeAR dev (../shared/eval/quotes-en) and the demo corpus's gold quotes against
quality/floors.toml [quotes].
"""

from __future__ import annotations

import io
import re
import time
import tomllib

import pytest
import yaml

from conftest import DEMO_DATA, REPO, shared_path
from narratrace.enrich.quotes import english_pipeline, extract_quotes

FLOORS = tomllib.loads((REPO / "quality" / "floors.toml").read_text(encoding="utf-8"))["quotes"]


@pytest.fixture(scope="module")
def nlp():
    return english_pipeline()


def en(text, nlp):
    return extract_quotes(text, "en", nlp=nlp)


def covering(findings, text, fragment):
    k = text.index(fragment)
    return [f for f in findings if f.start <= k and f.end >= k + len(fragment) - 1]


def one(findings, text, fragment):
    hits = covering(findings, text, fragment)
    assert hits, f"no finding covers {fragment!r}: {[(text[f.start:f.end], f.kind) for f in findings]}"
    return hits[0]


# --------------------------------------------------------------------------- Persian

def test_persian_direct_quote_speaker_before():
    t = "فرهاد رنجبر، راننده جرثقیل، گفت: «ما نان می‌خواهیم، نه وعده.»"
    f = one(extract_quotes(t, "fa"), t, "ما نان")
    assert f.kind == "direct" and t[f.start:f.end] == "ما نان می‌خواهیم، نه وعده."
    assert f.cue == "گفت" and f.speaker_text == "فرهاد رنجبر" and f.speaker_name == "فرهاد رنجبر"
    assert f.resolution == "named"


def test_persian_direct_quote_speaker_after():
    t = "«ما نان می‌خواهیم، نه وعده.» فرهاد رنجبر گفت."
    f = one(extract_quotes(t, "fa"), t, "ما نان")
    assert f.kind == "direct" and f.cue == "گفت" and f.speaker_name == "فرهاد رنجبر"


def test_persian_arabic_letter_variants_and_zwnj_match_but_offsets_stay():
    t = "بهرام نیکزاد گفته است: «اين يك آزمايش است.»"     # Arabic ي/ك in the quote
    f = one(extract_quotes(t, "fa"), t, "اين")
    assert f.cue == "گفته است" and text_at(t, f) == "اين يك آزمايش است."
    t2 = "وی می‌گوید: «همه چیز آرام است.»"
    f2 = one(extract_quotes(t2, "fa"), t2, "همه")
    assert f2.cue == "می‌گوید"


def text_at(t, f):
    return t[f.start:f.end]


def test_persian_according_to_indirect():
    t = "کوروش توانا، وزیر کشور، دیروز به خبرنگاران پاسخ داد. به گفته وزیر کشور، امنیت کشور خط قرمز دولت است."
    f = one(extract_quotes(t, "fa"), t, "امنیت کشور خط قرمز")
    assert f.kind == "indirect" and f.cue == "به گفته" and f.speaker_text == "وزیر کشور"
    assert f.resolution == "nominal" and f.speaker_name == "کوروش توانا"


def test_persian_title_appositive_and_mixed_quote():
    t = "بهرام نیکزاد، رئیس شورای عالی امنیت، چهار روز پیش مدعی شد که جبهه اعتراض‌ها را در «چهارده شهر» سازمان داده است."
    f = one(extract_quotes(t, "fa"), t, "چهارده شهر")
    assert f.kind == "mixed" and f.cue == "مدعی شد" and f.speaker_name == "بهرام نیکزاد"
    assert text_at(t, f).startswith("جبهه")


def test_persian_pronoun_resolves_to_last_named_person():
    t = ("نوید اشتری، رهبر جبهه، امروز بیانیه‌ای منتشر کرد. "
         "او در این بیانیه نوشت: «ما وجود داریم.» وی تاکید کرد که جبهه عقب نمی‌نشیند.")
    fs = extract_quotes(t, "fa")
    a, b = one(fs, t, "ما وجود"), one(fs, t, "جبهه عقب")
    assert a.speaker_text == "او" and a.resolution == "pronoun" and a.speaker_name == "نوید اشتری"
    assert b.kind == "indirect" and b.speaker_name == "نوید اشتری"


# --------------------------------------------------------------------------- English

def test_english_said_that(nlp):
    t = "Henrik Vallo said that the protests were a foreign-made illusion."
    f = one(en(t, nlp), t, "the protests were")
    assert f.kind == "indirect" and f.cue == "said" and f.speaker_text == "Henrik Vallo"
    assert f.speaker_name == "Henrik Vallo" and f.resolution == "named"
    assert text_at(t, f).startswith("the protests") or text_at(t, f).startswith("that")


def test_english_according_to(nlp):
    t = "The protests were organised from abroad, according to Mira Castell."
    f = one(en(t, nlp), t, "The protests were organised")
    assert f.cue == "according to" and f.speaker_text == "Mira Castell" and f.speaker_name == "Mira Castell"


def test_english_multi_sentence_direct_quote_and_continuation(nlp):
    t = ('"The protests are over. They were small," said Shirin Afkham, the foreign minister. '
         '"Nobody was arrested for protesting."')
    fs = en(t, nlp)
    a = one(fs, t, "The protests are over. They were small,")
    b = one(fs, t, "Nobody was arrested")
    assert a.kind == "direct" and a.speaker_name == "Shirin Afkham"
    assert b.speaker_name == "Shirin Afkham" and b.cue_start == a.cue_start


def test_english_pronoun_resolves_to_last_named_person(nlp):
    t = ('Navid Ashtari leads the Front from exile. Officials in the capital met on Monday. '
         '"Nobody pays for our anger," he said.')
    f = one(en(t, nlp), t, "Nobody pays")
    assert f.speaker_text == "he" and f.resolution == "pronoun" and f.speaker_name == "Navid Ashtari"


def test_english_nominal_resolves_to_the_named_ambassador(nlp):
    t = ('Henrik Vallo, a former Norland ambassador to Kavaran, visited Dastgerd last week. '
         'Mira Castell, an analyst, was not convinced. '
         'The former ambassador said the reports were exaggerated.')
    f = one(en(t, nlp), t, "the reports were exaggerated")
    assert f.resolution == "nominal" and f.speaker_name == "Henrik Vallo"


def test_english_surname_resolves_to_full_name(nlp):
    t = 'Henrik Vallo spoke in Tessaly. "The unrest is an illusion," Vallo said.'
    f = one(en(t, nlp), t, "The unrest")
    assert f.speaker_text == "Vallo" and f.speaker_name == "Henrik Vallo"


def test_apostrophes_are_not_quotes(nlp):
    t = "Clinton's aides don't agree. It's the '90s all over again, Trump's team said."
    assert not [f for f in en(t, nlp) if f.kind == "direct"]


# --------------------------------------------------------------------------- bad input

def test_unbalanced_quote_is_capped_at_its_paragraph(nlp):
    t = "Text with « an opening mark that never closes\n\n" + "Next paragraph. " * 50 + '"Fine," she said.'
    for lang in ("en", "fa"):
        fs = extract_quotes(t, lang, nlp=nlp)
        assert all("\n" not in t[f.start:f.end] for f in fs if f.kind == "direct")
    fs = en(t, nlp)
    assert one(fs, t, "Fine").kind == "direct"
    dangling = one(fs, t, "an opening mark")
    assert dangling.end <= t.index("\n") and dangling.speaker_name is None and dangling.reason


def test_bidi_controls_and_mixed_scripts():
    t = "\u202bاو گفت\u200f: «سلام بر همه» \u202c and the English text (Kavaran) goes on.\u2066x\u2069"
    fs = extract_quotes(t, "fa")
    f = one(fs, t, "سلام بر همه")
    assert f.cue == "گفت" and f.speaker_text == "او"
    assert f.speaker_name is None and "pronoun" in f.reason


def test_empty_and_unknown_language(nlp):
    assert extract_quotes("", "en", nlp=nlp) == [] and extract_quotes("   \n", "fa") == []
    assert extract_quotes('"Hola," dijo ella.', "es") == []


def test_unattributed_quote_says_why(nlp):
    t = 'The word "cult" appears often in the coverage.'
    f = one(en(t, nlp), t, "cult")
    assert f.speaker_name is None and f.cue is None and "no cue" in f.reason


def test_long_noisy_text_is_fast(nlp):
    t = ("«" + "خبر " * 30 + "\n" + '"' + "word " * 20 + "\u200f" + "’s don't '") * 1200
    t = t[:100_000]
    t0 = time.perf_counter()
    extract_quotes(t, "fa")
    assert time.perf_counter() - t0 < 5
    t0 = time.perf_counter()
    fs = extract_quotes(t, "en", nlp=nlp)
    assert time.perf_counter() - t0 < 30 and all(f.end - f.start <= 2000 for f in fs)


# --------------------------------------------------------------------------- seeds (real text)

def test_seed_quotes_are_attributed_to_the_named_ambassador_and_senator(nlp):
    t = (shared_path("seeds") / "001_e887abbe15a01f95.txt").read_text(encoding="utf-8")
    fs = en(t, nlp)
    amb = re.search(r"former US Ambassador\s+(\w+)[\s\u00a0]+(\w+)", t)
    sen = re.search(r"former US Senator\s+(\w+)[\s\u00a0]+(\w+)", t)
    f = one(fs, t, "The greatest testimony")
    assert amb.group(2) in (f.speaker_text or "") and amb.group(2) in (f.speaker_name or "")
    g = one(fs, t, "a shadow of public relations firms")
    assert sen.group(2) in (g.speaker_text or "") and sen.group(2) in (g.speaker_name or "")
    assert g.kind == "mixed" and g.cue == "called"


# --------------------------------------------------------------------------- gates

def test_polnear_dev_gate():
    """Span P/R/F1 on PolNeAR dev (84 texts); see narratrace.evaluation.quotes for the protocol."""
    from narratrace.evaluation.quotes import evaluate_polnear

    res = evaluate_polnear(shared_path("eval", "quotes-en", "dev"))
    print({k: v for k, v in res.items()})
    assert res["documents"] == 84
    for key in ("source_exact", "source_overlap", "content_exact", "content_overlap", "cue_exact", "cue_overlap"):
        assert res[key]["f1"] >= FLOORS[f"polnear_dev_{key}_f1"], (key, res[key])


def demo_aliases(gold: dict) -> dict[str, list[str]]:
    """{person key: names}: gold people names (before the comma), the demo alias registry
    (demo/data/entities.yaml, en + fa), and the key spelt out."""
    aliases: dict[str, list[str]] = {}
    for p in gold.get("people") or []:
        aliases.setdefault(p["id"], []).append(p["name"].split(",")[0])
    reg = DEMO_DATA / "entities.yaml"
    if reg.exists():
        for e in (yaml.safe_load(reg.read_text(encoding="utf-8")) or {}).get("entities") or []:
            names = [e.get("name") or ""]
            for vs in (e.get("aliases") or {}).values():
                names += list(vs or [])
            aliases.setdefault(e["id"], []).extend(n for n in names if n)
    for q in gold.get("quotes") or []:
        aliases.setdefault(q["speaker"], []).append(q["speaker"].replace("-", " "))
    return aliases


def test_demo_gold_quotes(tmp_path, nlp):
    from rich.console import Console

    from narratrace.demo.gold import GOLD, load_gold, relative_origin
    from narratrace.demo.run import run_demo
    from narratrace.evaluation.quotes import score_demo_quotes
    from narratrace.workspace import Workspace

    path = tmp_path / "demo.db"
    run_demo(str(path), analysis=False, console=Console(file=io.StringIO()), err=Console(file=io.StringIO()))
    ws = Workspace(path)
    try:
        stored = {relative_origin(d.origin): d for d in ws.documents(with_text=True)}
    finally:
        ws.close()
    gold = load_gold(GOLD)
    by_id = {g["id"]: stored[g["file"]] for g in gold["documents"]}
    docs = {}
    for doc_id in {q["document"] for q in gold["quotes"]}:
        d = by_id[doc_id]
        docs[doc_id] = (d.text, extract_quotes(d.text, d.language, nlp=nlp))
    res = score_demo_quotes(gold, docs, demo_aliases(gold))
    print({k: v for k, v in res.items() if k != "rows"})
    assert res["located"] == res["quotes"]
    assert res["quote_recall"] >= FLOORS["demo_quote_recall"]
    assert res["speaker_accuracy"] >= FLOORS["demo_speaker_accuracy"]
