"""Holder views: who holds the claim in a sentence (enrich/holder.py), on fictional sentences."""

import time

import pytest

from narratrace.enrich.holder import views


def _frames(text, lang="en", quotes=()):
    return [(v.kind, v.holder, text[v.start:v.end], v.writer_stance) for v in views(text, lang, list(quotes))[1:]]


def test_own_voice_always_first_and_whole():
    text = "Protests continued in the capital of Kavaran on Monday."
    vs = views(text, "en")
    assert [(v.kind, v.start, v.end) for v in vs] == [("outlet", 0, len(text))]


@pytest.mark.parametrize("text,kind,holder,content", [
    ("The regime claims the Front has no support.", "reported", "The regime", "the Front has no support."),
    ("Minister Shirin Afkham said that the Front organised the riots.", "speaker", "Minister Shirin Afkham",
     "the Front organised the riots."),
    ("The Front organised the riots, the minister said.", "speaker", "the minister", "The Front organised the riots"),
    ("According to state media, calm has returned to Dastgerd.", "reported", "state media",
     "calm has returned to Dastgerd."),
    ("Officials said the protests were small.", "reported", "Officials", "the protests were small."),
])
def test_english_frames(text, kind, holder, content):
    assert _frames(text)[0][:3] == (kind, holder, content)


def test_disbelief_in_the_frame_is_the_writers_stance():
    (kind, _h, content, stance), = _frames("Kavaran Today falsely claimed that foreign agents paid the students.")
    assert kind == "reported" and content == "foreign agents paid the students." and stance == "denies"
    assert _frames("Kavaran Today claimed that foreign agents paid the students.")[0][3] is None


@pytest.mark.parametrize("text,kind,content", [
    ("به ادعای رسانه‌های دولتی، آرامش به دستگرد بازگشته است.", "reported", "آرامش به دستگرد بازگشته است."),
    ("سخنگوی دولت گفت: جبهه راه آزادی پشت این آشوب‌هاست.", "speaker", "جبهه راه آزادی پشت این آشوب‌هاست."),
    ("وزیر مدعی شد که دانشجویان از خارج پول گرفته‌اند.", "reported", "دانشجویان از خارج پول گرفته‌اند."),
])
def test_persian_frames(text, kind, content):
    assert _frames(text, "fa")[0][0] == kind and _frames(text, "fa")[0][2] == content


def test_quotes_become_speaker_views():
    text = 'Afkham told reporters: "The Front has no support at home."'
    q0 = text.index('"') + 1
    vs = views(text, "en", [(q0, len(text) - 1, "shirin-afkham")])
    assert [(v.kind, v.entity_key) for v in vs[1:]] == [("speaker", "shirin-afkham")]
    assert "The Front has no support at home." in text[vs[1].start:vs[1].end]
    # with no frame around it, a quote is a view of its own
    text = 'Then: "The Front has no support at home."'
    vs = views(text, "en", [(7, len(text) - 1, "shirin-afkham")])
    assert (vs[-1].kind, vs[-1].holder, text[vs[-1].start:vs[-1].end]) == \
        ("speaker", "shirin-afkham", "The Front has no support at home.")


def test_a_quote_gives_its_resolved_speaker_to_the_frame_over_the_same_words():
    """"«…», he said": the frame sees only "he"; the quote stage resolved him. One view, his."""
    text = '"Kavaran respects every peaceful protest," he said.'
    q = [(1, text.index(',"') + 1, "shirin-afkham")]
    vs = views(text, "en", q)
    assert len(vs) == 2  # the own voice and one attributed view, not two views of the same words
    assert (vs[1].kind, vs[1].entity_key, vs[1].holder) == ("speaker", "shirin-afkham", "shirin-afkham")
    # a quote elsewhere in the sentence stays a view of its own
    text2 = 'Officials said the protests were small, and Afkham added: "Calm has returned."'
    q2 = [(text2.index('"') + 1, len(text2) - 1, "shirin-afkham")]
    kinds = [(v.kind, v.entity_key) for v in views(text2, "en", q2)[1:]]
    assert kinds == [("reported", None), ("speaker", "shirin-afkham")]


@pytest.mark.parametrize("text,lang,kind,holder,content", [
    ("The Kavaran police have denied that officers beat the student.", "en", "speaker", "The Kavaran police",
     "officers beat the student."),
    ("Her family denied she had any heart condition.", "en", "speaker", "Her family", "she had any heart condition."),
    ("The authorities rejected claims that the curfew was extended.", "en", "reported", "The authorities",
     "the curfew was extended."),
    ("سخنگوی پلیس دستگرد خبر بازداشت دانشجویان را تکذیب کرد.", "fa", "speaker", "سخنگوی پلیس دستگرد",
     "بازداشت دانشجویان"),
    ("وزیر کشور تکذیب کرد که ماموران به دانشجویان شلیک کرده‌اند.", "fa", "speaker", "وزیر کشور",
     "ماموران به دانشجویان شلیک کرده‌اند."),
])
def test_denial_frames_reverse_the_holders_stance(text, lang, kind, holder, content):
    (v,) = views(text, lang)[1:]
    assert (v.kind, v.holder, text[v.start:v.end], v.negates) == (kind, holder, content, True)


def test_rejecting_a_thing_is_not_denying_a_claim():
    for text in ("The ministry rejected the resolution.", "Afkham dismissed the protests as riots."):
        assert all(not v.negates for v in views(text, "en"))
    assert not views("Afkham said the curfew was extended.", "en")[1].negates


def test_hostile_sentences_stay_fast():
    """Every sentence goes through the frames: a long run with no frame, and one full of cue words."""
    for text in ("a" * 100_000, "said " * 20_000, "X claimed that " * 5_000, "، گفت " * 10_000):
        t = time.perf_counter()
        views(text, "fa" if "گفت" in text else "en")
        assert time.perf_counter() - t < 1.0
