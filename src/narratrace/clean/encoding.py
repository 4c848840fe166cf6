"""Bytes → text: BOMs, UTF-16 without BOM, declared charsets, Windows-1256 Persian, mojibake.

Order matters and each step says why:
1. A BOM is authoritative.
2. Strict UTF-8 wins when it decodes: UTF-8 is what almost all of the web is, and legacy
   8-bit text essentially never decodes as valid multi-byte UTF-8 by accident.
3. A charset the document or the server declared (meta tag, HTTP header) comes next.
4. Otherwise charset-normalizer guesses; for Arabic-script single-byte guesses we prefer
   Windows-1256, which is what Persian sites and Windows editors produce.
5. UTF-8 text that was once decoded as Latin-1/cp1252 (mojibake, "Ø¨Ø§" for Persian)
   is repaired with ftfy's encoding fixer only — not its other "fixes", which would
   change quote characters that spans and quote detection rely on.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter

import ftfy
from charset_normalizer import from_bytes

from narratrace.errors import InvalidInput


class DecodeError(InvalidInput):
    """The input is not text (binary) or no encoding decodes it."""


_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-.]+)""", re.I)
_ARABIC_CODEPAGES = {"cp1256", "windows-1256", "iso8859_6", "iso-8859-6", "mac_arabic", "cp864", "cp720"}
# Characters that appear when UTF-8 Persian/Arabic or typographic quotes are read as cp1252.
_MOJIBAKE_HINT = re.compile("[ØÙÛÚ][\u0080-\u00ff\u0152-\u02dc\u2013-\u203a]|â€")


def _sniff_utf16(data: bytes) -> str | None:
    """UTF-16 without BOM: mostly-ASCII text has a NUL in every other byte."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) / 2
    if odd_nuls > 0.3 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.3 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return _sniff_utf16_one_script(sample[: len(sample) // 2 * 2])


def _sniff_utf16_one_script(sample: bytes) -> str | None:
    """UTF-16 without BOM of text in one non-Latin script (a Persian article): few NULs, but
    the high bytes are a handful of values (0x06 for Arabic script, 0x00 for spaces) while
    the low bytes vary. Without this the 0x06 bytes read as control characters: "binary"."""
    if len(sample) < 16:
        return None
    try:
        as_utf8 = codecs.getincrementaldecoder("utf-8")().decode(sample)  # a cut sequence at the end is fine
        if not any(ch < " " and ch not in "\t\n\r\f" for ch in as_utf8):
            return None  # clean UTF-8 (Persian UTF-8 without spaces has only D8–DB in one lane)
    except UnicodeDecodeError:
        pass
    for enc, high, low in (("utf-16-le", sample[1::2], sample[0::2]), ("utf-16-be", sample[0::2], sample[1::2])):
        if sum(n for _, n in Counter(high).most_common(3)) < 0.9 * len(high) or len(set(low)) < 8:
            continue
        try:
            text = codecs.getincrementaldecoder(enc)().decode(sample)
        except UnicodeDecodeError:
            continue
        if text and sum(1 for ch in text if ch.isprintable() or ch in "\t\n\r\f") >= 0.95 * len(text):
            return enc
    return None


def looks_binary(data: bytes) -> bool:
    """NULs or many C0 control bytes in the first 8 KiB mean this is not a text document."""
    sample = data[:8192]
    if not sample:
        return False
    if _sniff_utf16(sample) or any(sample.startswith(b) for b, _ in _BOMS):
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls / len(sample) > 0.05


def declared_charset(data: bytes) -> str | None:
    head = data[:4096]
    m = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if not m:
        return None
    name = m.group(1).decode("ascii", "ignore").lower()
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


# Single-byte Latin charsets decode any bytes, so a wrong declaration never fails: Persian
# Windows-1256 read as Latin-1 becomes runs of accented capitals ("ÇáÚ"). Letters in
# U+00C0–U+00FF are at most ~10 % of the letters of French or German text (measured on the
# demo's and quotes-en's Latin-script pages: 0–6 %); above a third, the bytes are asked.
_LATIN_SINGLE_BYTE = {"iso8859-1", "cp1252", "iso8859-15"}  # codecs.lookup names
_LATIN_SUSPICIOUS_SHARE = 0.33


def _reads_as_arabic_script(data: bytes, text: str) -> bool:
    letters = [ch for ch in text[:20_000] if ch.isalpha()]
    if len(letters) < 20 or sum("\u00c0" <= ch <= "\u00ff" for ch in letters) < _LATIN_SUSPICIOUS_SHARE * len(letters):
        return False
    best = from_bytes(data[:200_000]).best()
    return best is not None and (codecs.lookup(best.encoding).name in _ARABIC_CODEPAGES
                                 or (best.language or "").lower() in ("arabic", "farsi", "persian"))


def fix_mojibake(text: str) -> str:
    if _MOJIBAKE_HINT.search(text):
        return ftfy.fix_encoding(text)
    return text


def decode(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Return (text, encoding used). Raises DecodeError for binary or undecodable input."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return fix_mojibake(data[len(bom):].decode(enc, errors="replace")), enc
    utf16 = _sniff_utf16(data)
    if utf16:
        return data.decode(utf16, errors="replace"), utf16
    if looks_binary(data):
        raise DecodeError("looks like a binary file, not text")
    try:
        return fix_mojibake(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    for name in (declared, declared_charset(data)):
        if not name:
            continue
        try:
            enc = codecs.lookup(name).name
            if enc in ("utf-8", "ascii"):
                continue  # already failed strictly above; fall through to detection
            text = data.decode(enc)
            if enc in _LATIN_SINGLE_BYTE and _reads_as_arabic_script(data, text):
                continue  # the declaration is wrong: the bytes are Windows-1256 (detection below)
            return text, enc
        except (LookupError, UnicodeDecodeError):
            continue
    best = from_bytes(data[:200_000]).best()
    if best is None:
        raise DecodeError("no text encoding decodes this input")
    enc = codecs.lookup(best.encoding).name
    if enc in _ARABIC_CODEPAGES or (best.language or "").lower() in ("arabic", "farsi", "persian"):
        enc = "cp1256"
    return data.decode(enc, errors="replace"), enc
