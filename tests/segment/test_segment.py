from hypothesis import given, settings
from hypothesis import strategies as st

from narratrace.segment.sentences import split_sentences


def sents(text):
    return [text[s.start:s.end] for s in split_sentences(text)]


def test_english_abbreviations_initials_and_quotes():
    t = 'Mr. Vallo said “The Front is a cult.” He left at 3 p.m. on Monday. Dr. J. Doe agreed! Why?'
    assert sents(t) == ['Mr. Vallo said “The Front is a cult.”', "He left at 3 p.m. on Monday.",
                        "Dr. J. Doe agreed!", "Why?"]


def test_persian_punctuation_guillemets_and_digits():
    t = "وزیر گفت: «این گروه یک فرقه است.» او افزود که حمایتی ندارد؟ بله، ۱۴۰۴.۱۲.۳ بود؛ تمام."
    assert sents(t) == ["وزیر گفت: «این گروه یک فرقه است.»", "او افزود که حمایتی ندارد؟",
                        "بله، ۱۴۰۴.۱۲.۳ بود؛ تمام."]


def test_sentences_never_cross_paragraphs():
    t = "A heading without a stop\n\nThe body starts here. It goes on."
    assert sents(t) == ["A heading without a stop", "The body starts here.", "It goes on."]


def test_decimal_and_lowercase_continuation_do_not_split():
    assert sents("Prices rose 3.5 percent. Then, e.g. at 3 p.m. on Monday, fell? no, it rose.") == [
        "Prices rose 3.5 percent.", "Then, e.g. at 3 p.m. on Monday, fell? no, it rose."]


ALPHABET = st.sampled_from(list("ab AZ.!?؟…«»“”\"'\n\t،؛ ۱۲سلام") + ["Mr. ", "\n\n", "e.g. ", " ."])


@settings(max_examples=400, deadline=None)
@given(st.lists(ALPHABET, max_size=80).map("".join))
def test_spans_are_exact_ordered_and_cover_all_text(text):
    spans = split_sentences(text)
    prev_end = 0
    covered = set()
    for s in spans:
        assert 0 <= prev_end <= s.start < s.end <= len(text)
        piece = text[s.start:s.end]
        assert piece == piece.strip() and piece  # no leading/trailing whitespace, never empty
        assert "\n" not in piece
        covered.update(range(s.start, s.end))
        prev_end = s.end
    # every non-space character belongs to exactly one sentence
    assert {i for i, ch in enumerate(text) if not ch.isspace()} <= covered
