"""Cleaning of text inputs: boilerplate rules as data, line shapes in context, repeated sentences.

Every fixture is invented (fictional outlets, people and places); nothing here is campaign-dev text.
"""

from __future__ import annotations

import pytest
from conftest import write

from narratrace.clean import boilerplate as bp
from narratrace.clean import text as ct
from narratrace.clean.boilerplate import (
    BoilerplateRulesError,
    is_date_line,
    is_rule_boilerplate,
    load_rules,
    strip_boilerplate,
)
from narratrace.clean.normalize import normalize_text
from narratrace.clean.text import clean_lines, drop_repeats, sentence_spans

TITLE = "Kavaran minister says the harbour strike was organised from abroad"
LEAD = ("The interior minister of Kavaran, Dario Menz, said on Tuesday that the strike at the "
        "northern harbour had been organised by foreign networks.")
BODY = [
    LEAD,
    "“We have evidence that the organisers were paid from outside the country,” Menz told the "
    "state broadcaster, adding that eleven people had been detained.",
    "Union leaders rejected the claim and said the dockworkers had walked out over unpaid wages "
    "and the closure of two clinics in the port district.",
    "The harbour, which handles most of Kavaran’s grain imports, has been closed since Friday, "
    "and ships were waiting offshore on Wednesday.",
]


def _kept(text: str, lang: str | None = None) -> str:
    lines, _ = clean_lines(text, lang)
    return "\n".join(lines)


# -- the rules are data ---------------------------------------------------------------------------


def test_rules_file_ships_and_a_bad_file_is_named(tmp_path):
    rules = load_rules()
    assert rules.line.pattern and "december" in rules.date_words
    bad = write(tmp_path / "bp.yaml", "lines:\n  en:\n    - '(unclosed'\n")
    with pytest.raises(BoilerplateRulesError, match=r"bp\.yaml: 'lines\.en\[0\]' is not a valid regular expression"):
        load_rules(bad)
    with pytest.raises(BoilerplateRulesError, match="unknown key"):
        load_rules(write(tmp_path / "k.yaml", "line:\n  en: ['x']\n"))
    with pytest.raises(BoilerplateRulesError, match="alias"):
        load_rules(write(tmp_path / "a.yaml", "lines:\n  en: &x ['a']\n  fa: *x\n"))
    with pytest.raises(BoilerplateRulesError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")


@pytest.mark.parametrize("line", [
    "Please enter your comment!", "Please enter your name here", "Your Comment", "Story Code: 88213",
    "News ID: 40411", "6 min read", "4 min", "Listen to this article", "Loading audio...", "close button",
    "- Advertisement -", "Show news feed", "Read the full story on Tessaly Daily here.", "Contact Us",
    "Edited by Lena Marsh", "By", "Tag: harbour strike", "This article tagged under:", "HIGHLIGHTS",
    "Get a weekly recap of the latest Port Vell news. Sign up for the Tessaly Daily newsletter.",
    "Home of The Morning Five, the daily email that brings you the world.",
    "This text available in Norlandic and Kavari", "Switch to Tessaly Lite?",
    "It looks like you’re having trouble loading the content on this page. Switch to Tessaly Lite instead.",
    "— Kavaran Voice (@KavaranVoice) March 3, 2031", "Crowds gather in Port Vell pic.twitter.com/Ab12Cd34",
    "Screen Shot 2031-03-04 at 10.38.38 AM", "Frame grab from an interview of March 1 with Kavaran TV",
    "AP Photo, File", "source site-3", "tessalydaily.com/news", "Mara Quell 7pm - 10pm", "417441", "**2050",
    "1. Skip to content", "کد خبر: ۷۷۱۲۳", "ارسال نظر", "لطفا به اشتراک بگذارید", "به این نوشته امتیاز بدهید!",
    "پایان پیام/", "انتهای متن/", "منبع: kavarannews.example", "گردآوری: گروه خبر کاوران", "تخمین زمان مطالعه:",
    "موارد بیشتر برای شما", "👈مطالب بیشتر در سایت رادیو کاوران", "2. رفتن به مطالب اصلی",
    "فیلم| تصاویر تازه از اعتصاب بندر", "دیدگاهتان را بنویسید",
])
def test_chrome_lines_are_rule_boilerplate(line):
    assert is_rule_boilerplate(normalize_text(line, "fa" if any("\u0600" <= c <= "\u06ff" for c in line) else None))


@pytest.mark.parametrize("line", ["— Kavaran Voice (@KavaranVoice) March 3, 2031",
                                  "Crowds gather in Port Vell pic.twitter.com/Ab12Cd34",
                                  "https://tessalydaily.example/report-2031", "tessalydaily.com/news"])
def test_embedded_posts_and_bare_links_stay_in_what_an_html_extractor_kept(line):
    """In a copied page they are crawler residue; in a page's extracted article body they are its
    cited evidence (the extraction benchmark's gold keeps them). Chrome wording goes in both."""
    assert is_rule_boilerplate(line)
    assert not is_rule_boilerplate(line, text_input=False)
    assert clean_lines(f"The union met.\n\n{line}\n\nShare this article", None, shapes=False)[0] == [
        "The union met.", line]


@pytest.mark.parametrize("line", [
    "The minister said on Facebook that the strike had no support at home.",
    "Subscribers to the union newsletter were told to stay home, Menz said.",
    "Read more about the harbour in our report, the editor wrote in a note to readers that week.",
    "By the end of the week, the harbour had reopened.",
    "مدیر بندر گفت: اعتصاب از خارج سازماندهی شده بود.",
    "He cited a study (Vance, 1367: 18 / 2) on port labour.",
    "Officials met the union on Monday (RFE/RL).",
])
def test_sentences_that_mention_chrome_words_stay(line):
    assert not is_rule_boilerplate(line)


def test_captions_with_credits_go():
    for caption in ["Dockworkers march in Port Vell on Friday. PHOTO: KNA-PIX",
                    "A dockworker holds a sign in Port Vell, March 3, 2031. (Jana Holt/The Tessaly Press)",
                    "Ships wait offshore (AP Photo/Ivo Brant)",
                    "Ships wait offshore © Kavaran Pictures/Port Agency",
                    "Dockworkers hold placards in Port Vell. Photograph: Ivo Brant/Tessaly Images",
                    "Protesters burn a flagImage source, Tessaly Images",
                    "کارگران بندر در حال راهپیمایی هستندعکس: خبرگزاری کاوران"]:
        assert bp.is_credit_line(normalize_text(caption)), caption


# -- dates: kept in the header for the date parser, dropped elsewhere -------------------------------


def test_date_lines():
    for line in ["December 02", "Sunday, Mar 18, 2031", "Publish Date : 04 December 2031 - 22:04",
                 "۱۴۱۰ مهر ۵, سه‌شنبه", "۱۴۱۰/۰۹/۱۲ ۲۳:۰۹:۰۲", "Posted Oct 11, 2031 9:45 AM CDT", "10:40 a.m."]:
        assert is_date_line(line), line
    for line in ["4 min", "417441", "Iran 2031", "Room 12, floor 3", "The strike began on 5 May."]:
        assert not is_date_line(line), line
    lines = [TITLE, "Tuesday 9 March 2031 - 08:29", TITLE, *BODY, "Friday 12 March 2031"]
    kept, why = strip_boilerplate(lines)
    assert "Tuesday 9 March 2031 - 08:29" in kept  # the date parser's to take
    assert "Friday 12 March 2031" not in kept and why["date"] == 1


# -- shape in context -----------------------------------------------------------------------------


def test_page_header_between_title_and_its_repeat_goes():
    header = ["Tessaly Daily", "News / Politics", "» World » Kavaran", "Mara Quell 7pm - 10pm",
              "Tuesday 9 March 2031 - 08:29"]
    kept = _kept("\n".join([TITLE, *header, TITLE, *BODY]))
    for line in header[:-1]:
        assert line not in kept, line
    assert "Tuesday 9 March 2031 - 08:29" in kept and kept.count(TITLE) == 1
    for para in BODY:
        assert para in kept


def test_title_copies_go_but_the_lead_that_starts_with_it_stays():
    lines = [TITLE, TITLE, "Image: " + TITLE, TITLE + " | Union rejects the claim",
             TITLE + " after a week of protests, officials and union leaders said on Monday in Port Vell.", *BODY[1:]]
    kept = _kept("\n".join(lines))
    assert "Image: " not in kept and "| Union rejects" not in kept
    assert "after a week of protests, officials and union leaders said" in kept


def test_related_marker_takes_its_headlines_not_the_next_paragraph():
    lines = [TITLE, *BODY[:2], "Related news:", "Port Vell mayor meets union leaders",
             "Grain prices rise in Kavaran", BODY[2], "READ MORE", BODY[3]]
    kept = _kept("\n".join(lines))
    assert "Related news" not in kept and "Port Vell mayor meets" not in kept and "Grain prices" not in kept
    assert "READ MORE" not in kept
    for para in BODY:  # an inline "READ MORE" in the second half used to cut the rest of the article
        assert para in kept


def test_menu_run_goes_and_a_results_table_stays():
    menu = ["صفحه نخست", "سیاست", "اقتصاد", "ورزشی", "فرهنگی", "بین‌الملل- جهان"]
    table = ["1- تیم بندر ۳۸ امتیاز", "2- تیم کاوران ۳۵ امتیاز", "3- تیم تسالی ۲۹ امتیاز", "4- تیم نورلند ۲۶ امتیاز"]
    body = ["نتایج کامل مسابقات این هفته در لیگ بندرها که روز جمعه در شهر پورت‌ول برگزار شد به شرح زیر است:"]
    kept = _kept("\n".join(["اعتصاب بندر پورت‌ول ادامه دارد", *menu, *body, *table]), "fa")
    assert not any(m in kept.split("\n") for m in menu)
    for row in table:
        assert normalize_text(row, "fa") in kept


def test_link_rows_link_farms_and_tail_widgets_go_bylines_stay():
    nav = "Weather Sports Traffic Community About Us TV Schedule Submit Photos and Video Contests Newsletters Our Apps"
    lines = [TITLE, *BODY, "Grain Ships Queue Off Port Vell As Strike Drags On -",
             "Tessaly Singer Announces New Album With Old Friend -", nav, "By Jane Roe", "Kavaran", "dockworkers",
             "tessalynews"]
    kept = _kept("\n".join(lines))
    assert "Grain Ships Queue" not in kept and "Tessaly Singer" not in kept and nav not in kept
    assert "tessalynews" not in kept and "\ndockworkers" not in kept
    assert "By Jane Roe" in kept


def test_a_subheading_between_paragraphs_stays():
    sub = "Union leaders answer back"
    kept = _kept("\n".join([TITLE, *BODY[:2], sub, *BODY[2:]]))
    assert sub in kept


# -- repeated sentences -----------------------------------------------------------------------------


def test_a_lead_repeated_inside_a_longer_paragraph_is_kept_once():
    cut_lead = ("“We have evidence that the organisers were paid from outside the country,” "
                "Menz told the state broadcaster")  # a standfirst that stops short of the sentence's end
    kept = _kept("\n".join([TITLE, cut_lead, *BODY]))
    assert kept.count("We have evidence that the organisers were paid") == 1
    assert BODY[1] in kept


def test_a_repeated_sentence_is_cut_from_the_later_paragraph_at_its_boundary():
    a = "Mr. Menz spoke to reporters at the harbour gate on Tuesday morning. He said eleven people were held."
    b = "Mr. Menz spoke to reporters at the harbour gate on Tuesday morning. Union leaders called it a lie."
    out, stats = drop_repeats([TITLE, a, b])
    assert out == [TITLE, a, "Union leaders called it a lie."]
    assert stats["repeated_sentences"] == 1
    # "Mr." is no sentence end: the sentence is cut whole, not after its abbreviation
    assert [b[x:y].strip() for x, y in sentence_spans(b)] == [
        "Mr. Menz spoke to reporters at the harbour gate on Tuesday morning.", "Union leaders called it a lie."]


def test_short_repeats_stay_where_they_were_said():
    lines = ["Transcript of the harbour hearing", "Yes.", "Thank you very much.", "Yes.", "Thank you very much."]
    out, _ = drop_repeats(lines)
    assert out == lines


def test_repeat_scan_is_skipped_and_counted_on_huge_texts(monkeypatch):
    monkeypatch.setattr(ct, "REPEAT_SCAN_MAX_CHARS", 100)
    cut = "“We have evidence that the organisers were paid from outside the country,” Menz told the state broadcaster"
    out, stats = drop_repeats([TITLE, cut, *BODY])
    assert stats.get("repeat_scan_skipped") == 1 and cut in out


# -- through the ingest: spans point into the stored text ----------------------------------------------


def test_ingested_text_keeps_the_article_and_exact_spans(ws, tmp_path):
    cut_lead = "“We have evidence that the organisers were paid from outside the country,” Menz told the state broadcaster"
    raw = "\n".join([TITLE, "", "Tessaly Daily", "News / Politics", TITLE, cut_lead, "close button", *BODY[:2],
                     "Related news:", "Port Vell mayor meets union leaders", *BODY[2:],
                     "Please enter your comment!", "Please enter your name here"])
    report = ws.ingest([str(write(tmp_path / "kt" / "strike.txt", raw))])
    doc = ws.document(report.document_ids[0])
    text = doc.text
    for para in BODY:
        assert text.count(para) == 1, para
    for junk in ("Tessaly Daily", "News / Politics", "close button", "Related news", "Port Vell mayor",
                 "Please enter", cut_lead + "\n"):
        assert junk not in text, junk
    assert text.startswith(TITLE)
    # every paragraph of the stored text is verbatim input: nothing was rewritten, so spans are exact
    for para in text.split("\n\n"):
        assert para in raw
