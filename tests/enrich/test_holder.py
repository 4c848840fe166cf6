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
    got = _frames(text, quotes=[(q0, len(text) - 1, "shirin-afkham")])
    assert ("speaker", "shirin-afkham", "The Front has no support at home.", None) in got


def test_hostile_sentences_stay_fast():
    """Every sentence goes through the frames: a long run with no frame, and one full of cue words."""
    for text in ("a" * 100_000, "said " * 20_000, "X claimed that " * 5_000, "، گفت " * 10_000):
        t = time.perf_counter()
        views(text, "fa" if "گفت" in text else "en")
        assert time.perf_counter() - t < 1.0
