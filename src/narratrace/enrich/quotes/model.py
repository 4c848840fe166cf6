"""What a quote finding is: spans into one document's stored clean text, nothing more.

Every offset is a character offset into the text the extractor was given (for a stored
document, ``Document.text``), so ``text[q.start:q.end]`` is the quoted content exactly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class QuoteFinding:
    start: int                    # content span (without the quotation marks for direct quotes)
    end: int
    kind: str                     # "direct" | "indirect" | "mixed" (reported speech holding a quoted fragment)
    language: str                 # rule set that found it: "en", "fa", …
    cue: str | None = None        # the cue as written ("said", "according to", "گفت")
    cue_start: int | None = None
    cue_end: int | None = None
    speaker_start: int | None = None   # the speaker as written at the quote ("he", "the former ambassador", "Vallo")
    speaker_end: int | None = None
    speaker_text: str | None = None
    # Within-document resolution of the speaker to a named person: for "he" / "the former
    # ambassador" the last preceding matching named mention; for a named speaker, itself.
    speaker_name: str | None = None
    speaker_name_start: int | None = None
    speaker_name_end: int | None = None
    resolution: str = "none"      # "named" | "pronoun" | "nominal" | "none"
    reason: str | None = None     # why it could not be attributed, when speaker_name is None
    confidence: float = 1.0       # rule confidence, calibrated as the module that sets it says
    # Who relays the statement when that is not the speaker: "Press TV quoted Vahidi as saying",
    # "به گزارش ایسنا، X گفت" — the outlet or agency as written (None when the speaker speaks directly).
    carrier: str | None = None
    carrier_start: int | None = None
    carrier_end: int | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)
