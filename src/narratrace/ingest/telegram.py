"""Telegram Desktop JSON export (result.json): each message with text becomes an item."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from narratrace.clean.text import parse_date
from narratrace.ingest.items import InputError, Problem, RawItem

MAX_EXPORT_BYTES = 2 * 1024**3


def message_text(value) -> str:
    """Telegram stores text as a string or a list of strings and {type, text} entities."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(x if isinstance(x, str) else str(x.get("text", "")) for x in value if isinstance(x, (str, dict)))
    return ""


def read_telegram(path: Path, max_bytes: int) -> Iterator[RawItem | Problem]:
    if path.stat().st_size > MAX_EXPORT_BYTES:
        raise InputError("JSON file over 2 GB")
    try:
        data = json.loads(path.read_bytes())
    except ValueError as exc:
        raise InputError(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise InputError("unsupported JSON: expected a Telegram Desktop export (an object with 'messages'); "
                         "use .jsonl for one record per line")
    channel = str(data.get("name") or path.parent.name)
    for msg in data["messages"]:
        if not isinstance(msg, dict) or msg.get("type") != "message":
            continue
        mid = msg.get("id")
        origin = f"{path}#{mid}"
        text = message_text(msg.get("text"))
        if not text.strip():
            continue  # photos and stickers without captions are not statements
        if len(text.encode("utf-8")) > max_bytes:
            yield Problem(origin, "failed", "message over the size limit")
            continue
        when = None
        try:  # a hostile date is no date, not the end of the batch
            if str(msg.get("date_unixtime", "")).isdigit():
                when = datetime.fromtimestamp(int(msg["date_unixtime"]), tz=UTC).replace(tzinfo=None)
            elif isinstance(msg.get("date"), str):
                when = parse_date(msg["date"])
        except (ValueError, OverflowError, OSError):
            when = None
        yield RawItem(
            origin=origin,
            kind="record",
            text=text,
            author=msg.get("from") if isinstance(msg.get("from"), str) else None,
            published_at=when,
            channel=channel,
            meta={"telegram_id": mid, "channel_id": data.get("id")},
        )
