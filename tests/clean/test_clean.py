import re

from conftest import shared_path, write

from narratrace.clean.boilerplate import is_rule_boilerplate
from narratrace.clean.encoding import decode, looks_binary
from narratrace.clean.normalize import normalize_text
from narratrace.clean.text import paragraph_key

QUOTE = re.compile(r"[“\"]([^”\"]{3,})[”\"]")


def _seed_text(ws, name):
    seeds = shared_path("seeds")
    report = ws.ingest([str(seeds / name)])
    assert report.added == 1
    return (seeds / name).read_text(encoding="utf-8"), ws.document(report.document_ids[0]).text


def test_seed_000_repeated_paragraph_and_social_footer_removed(ws):
    raw, text = _seed_text(ws, "000_cafb26f1e37a16ef.txt")
    first = "In January 2018, Iran was experiencing a virtually unheard-of nationwide uprising"
    assert raw.count(first) == 2  # the seed carries it twice (straight and curly quotes)
    assert text.count(first) == 1
    assert "follow us on Twitter" not in text
    assert "YouTub" not in text
    assert text.startswith("Iran: Regime’s attempts to demonize the MEK")


def test_seed_001_print_footer_and_related_sidebar_removed(ws):
    raw, text = _seed_text(ws, "001_e887abbe15a01f95.txt")
    for junk in ("Print", "Published in Articles", "Last modified on", "External Links", "Two Misguided Reports",
                 "Courting Disaster", "Human Rights Watch"):
        assert junk in raw
        assert junk not in text, junk
    assert text.rstrip().endswith("overthrowing the regime.")


def test_seeds_keep_every_quoted_sentence(ws):
    for name in ("000_cafb26f1e37a16ef.txt", "001_e887abbe15a01f95.txt"):
        raw, text = _seed_text(ws, name)
        body = raw.split("Published in")[0]  # quotes inside the removed sidebar are not the article's
        body = body.split("MEK Iran (follow us")[0]
        for quote in QUOTE.findall(body):
            assert quote.strip() in text, quote
    assert "a shadow of public relations firms, operatives, and companies" in text


def test_windows_1256_persian_without_declaration():
    persian = "سخنگوی وزارت خارجه گفت که این گروه هیچ پایگاهی در داخل کشور ندارد."
    # Windows-1256 has no Persian yeh/kaf: editors write the Arabic letters, which
    # normalisation turns back into Persian ones.
    legacy = persian.replace("ی", "ي").replace("ک", "ك")
    text, enc = decode(legacy.encode("cp1256"))
    assert enc == "cp1256"
    assert text == legacy
    assert normalize_text(text) == persian


def test_a_wrong_latin_declaration_on_windows_1256_bytes_is_overruled():
    """Latin-1 decodes any bytes, so a page that declares it over Persian Windows-1256 would be
    stored as "ÇáÚ…" without a word: the bytes disagree with the declaration and win."""
    persian = "سخنگوی وزارت خارجه گفت که این گروه هیچ پایگاهی در داخل کشور ندارد و مردم آرام هستند."
    legacy = persian.replace("ی", "ي").replace("ک", "ك")
    page = f"<html><head><meta charset='iso-8859-1'></head><body><p>{legacy}</p></body></html>"
    text, enc = decode(page.encode("cp1256"))
    assert enc == "cp1256" and legacy in text
    french = "<html><head><meta charset='iso-8859-1'></head><body><p>Le ministère a déclaré que les " \
             "négociations reprendront à Genève la semaine prochaine, après l'été.</p></body></html>"
    text, enc = decode(french.encode("latin-1"))  # a right declaration stays
    assert enc == "iso8859-1" and "négociations" in text


def test_utf16_with_and_without_bom():
    s = "The Front «جبهه» said."
    assert decode(s.encode("utf-16"))[0] == s
    assert decode(s.encode("utf-16-le"))[0] == s
    assert not looks_binary(s.encode("utf-16-le"))


def test_mojibake_is_repaired_but_quotes_are_not_rewritten():
    s = "وزیر گفت: «این گروه یک فرقه است» and “quoted” text"
    garbled = s.encode("utf-8").decode("latin-1")  # UTF-8 read as Latin-1, saved again as UTF-8
    fixed, _ = decode(garbled.encode("utf-8"))
    assert "«این گروه یک فرقه است»" in fixed
    assert decode("“quoted” – text".encode())[0] == "“quoted” – text"


def test_binary_is_refused():
    import pytest

    from narratrace.clean.encoding import DecodeError

    with pytest.raises(DecodeError, match="binary"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))


def test_persian_normalisation_yeh_kaf_zwnj_digits_and_arabic_untouched():
    s = "او مي\u200c\u200cگويد كه  ۱۴۰۴ سال \u200cپيش بود \u202eـــ"
    out = normalize_text(s)
    assert "ي" not in out and "ك" not in out
    assert "می\u200cگوید" in out  # ZWNJ kept inside the word, doubled one collapsed
    assert "\u200cپیش" not in out  # ZWNJ after a space removed
    assert "۱۴۰۴" in out  # digits kept as written
    assert "\u202e" not in out and "ـ" not in out
    arabic = "قال المتحدث إن الحركة لا تملك أي دعم"  # Arabic: no Persian-only letters
    assert normalize_text(arabic) == arabic


def test_control_characters_and_terminal_escapes_are_removed():
    assert normalize_text("safe\x1b[2J\x1b]0;pwned\x07 text\x00\x85") == "safe[2J]0;pwned text"


def test_presentation_forms_become_letters():
    assert normalize_text("\ufeb3\ufefc\ufee1") == "سلام"


def test_rules_keep_real_sentences_that_mention_platforms():
    assert is_rule_boilerplate("Share on Facebook")
    assert is_rule_boilerplate("Follow us on Telegram @kna_news")
    assert is_rule_boilerplate("ما را در تلگرام دنبال کنید")
    assert is_rule_boilerplate("© 2026 Kavaran Today. All rights reserved.")
    assert not is_rule_boilerplate("The minister said on Facebook that the Front has no support at home.")
    assert not is_rule_boilerplate("Copyright law was amended in 2019, the court said, after a long debate.")


def test_paragraph_key_ignores_quote_style():
    assert paragraph_key('chanted "death to the dictator" and') == paragraph_key("chanted “death to the dictator” and")


def test_learned_boilerplate_per_source(ws, tmp_path):
    """A line on most pages of one source is chrome; the same line elsewhere, and quotes, stay."""
    chrome = "Kavaran Today is the voice of Kavaran for the world"
    for i in range(6):
        body = (f"Story number {i} is about the harvest in the northern province and its many farmers.\n"
                f"{chrome}\n"
                f"“We will never give up,” said farmer number {i}.\n"
                f"By Jane Roe\n"
                f"Subscribe to our weekly bulletin for more\n")
        write(tmp_path / "kt" / f"{i}.txt", f"Harvest report {i}\n{body}")
    write(tmp_path / "other" / "x.txt", f"Other outlet\n{chrome}\nA different story entirely, told once.\n")
    report = ws.ingest([str(tmp_path / "kt"), str(tmp_path / "other")])
    assert report.added == 7
    docs = {d.origin: d for d in ws.documents(with_text=True)}
    for i in range(6):
        t = docs[str(tmp_path / "kt" / f"{i}.txt")].text
        assert chrome not in t
        assert "Subscribe to our weekly bulletin" not in t
        assert f"“We will never give up,” said farmer number {i}." in t
        assert "By Jane Roe" in t  # a byline on every page is still a byline
    assert chrome in docs[str(tmp_path / "other" / "x.txt")].text


def test_zwnj_survives_html_extraction_as_character_and_entity():
    """trafilatura drops non-printable characters; Persian spelling needs ZWNJ (U+200C)."""
    from narratrace.clean.html import extract_html

    para = "سخنگوی دولت می\u200cگوید دانشگاه&zwnj;ها و خانه&#8204;ها آرام هستند و زندگی ادامه دارد."
    page = f"<html lang='fa'><head><title>خبرها</title></head><body><article><p>{para}</p><p>{para}</p></article></body></html>"
    text = extract_html(page).text
    assert "می\u200cگوید" in text and "دانشگاه\u200cها" in text and "خانه\u200cها" in text
    assert "\u2bd1" not in text
