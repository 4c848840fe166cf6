"""The script rule in front of py3langid (enrich/language.py), on invented headlines, and the
headline figure on ../shared/eval (skipped when it is absent)."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import shared_path

from narratrace.enrich.language import default_identifier, script_counts

# Persian typed with Arabic ي and ك (as old keyboards and agency feeds do), Persian proper, Arabic
CASES = [
    ("وزير كاوران از سفر به نورلند خبر داد", "fa"),
    ("ارائه خدمات بانكي در روستاهاي دستگرد امكان پذير مي شود", "fa"),
    ("سخنگوی دولت کاوران گفت جبهه پایگاهی در کشور ندارد", "fa"),
    ("وزير خارجية كافاران يصل إلى نورلاند في زيارة رسمية", "ar"),
    ("قال المتحدث إن الجبهة لا تملك أي قاعدة شعبية", "ar"),
    ("Kavaran Minister Denies Talks With Norland Envoy", "en"),
    ("Did the Dastgerd Mayor Resign Over the Harvest Scandal?", "en"),
    ("Le ministre de Kavaran dément les rumeurs sur la frontière", "fr"),
    ("Der Minister von Kavaran bestreitet die Gespräche mit Norland", "de"),
]


@pytest.mark.parametrize("text,lang", CASES)
def test_script_rule_on_invented_headlines(text, lang):
    assert default_identifier().identify(text)[0] == lang


def test_scripts_are_counted_by_letter():
    assert script_counts("Kavaran کاوران 12") == {"LATIN": 7, "ARABIC": 6}
    assert default_identifier().identify("12 — ?") == (None, 0.0)


def _headlines():
    fa_dir, en_file = shared_path("eval", "news-fa"), shared_path("eval", "claims-en", "verified_claims.docs.tsv")
    if not fa_dir.is_dir() or not en_file.is_file():
        pytest.skip("../shared/eval (news-fa, claims-en) not present")
    fa = [r["title"] for r in json.loads((fa_dir / "fars-news-1.json").read_text(encoding="utf-8")) if r.get("title")]
    with open(en_file, encoding="utf-8", newline="") as f:
        en = [r["title"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if r.get("title")][:2000]
    return fa, en


def test_headline_accuracy_on_published_titles():
    """Measured 2026-xx on all 1,500 news-fa titles: 0.9993 (py3langid alone 0.769); on the first
    2,000 claims-en titles the floor is set below the measured figure (see registry-decisions.md)."""
    fa, en = _headlines()
    ident = default_identifier()
    fa_acc = sum(ident.identify(t)[0] == "fa" for t in fa) / len(fa)
    # an unsure answer (p < MIN_CONFIDENCE) defers to the document's language in the pipeline
    en_conf_wrong = sum(1 for t in en if (r := ident.identify(t))[0] not in ("en", None) and r[1] >= 0.5) / len(en)
    assert fa_acc >= 0.99
    assert en_conf_wrong <= 0.01
