"""SQLite-only SQL, kept in this one module: pragmas and the FTS5 full-text index.

``narratrace.store.postgres`` is its PostgreSQL counterpart (tsvector search, pgvector); both
offer ``fts_subquery`` and ``snippets``, and ``db.dialect_module`` picks one. Nothing outside
these two modules may use dialect-specific SQL.
"""

from __future__ import annotations

import re

from sqlalchemy import Float, Integer, event, text
from sqlalchemy.engine import Engine

# External-content FTS5 table over document(title, text). Triggers keep it in step with
# the document table inside the same transaction, so a crash never leaves them apart.
# unicode61 with remove_diacritics folds Latin accents; Persian letters are normalised
# before storage (clean.normalize), so search sees the same forms.
# porter (since migration 0012) stems English words on both sides, index and query: "protest"
# finds "protests" and "protested" and the reverse. Porter's rules only strip Latin-letter
# suffixes (-s, -ed, -ing, …), so a Persian token reaches the index exactly as unicode61 made it
# (tests/store/test_fts_stemming.py checks both languages). Its known cost is over-stemming
# ("generalization" and "generous" share "gener"): a phrase in quotes still narrows a search.
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"
FTS_TOKENIZE_UNSTEMMED = "unicode61 remove_diacritics 2"  # 0001 to 0011


def fts_ddl(tokenize: str = FTS_TOKENIZE) -> list[str]:
    """The FTS5 table and its triggers, with the given tokenizer (``IF NOT EXISTS``: re-runnable)."""
    return [
        f"""CREATE VIRTUAL TABLE IF NOT EXISTS document_fts USING fts5(
        title, text, content='document', content_rowid='id',
        tokenize="{tokenize}")""",
        """CREATE TRIGGER IF NOT EXISTS document_fts_ai AFTER INSERT ON document BEGIN
        INSERT INTO document_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END""",
        """CREATE TRIGGER IF NOT EXISTS document_fts_ad AFTER DELETE ON document BEGIN
        INSERT INTO document_fts(document_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
    END""",
        """CREATE TRIGGER IF NOT EXISTS document_fts_au AFTER UPDATE OF title, text ON document BEGIN
        INSERT INTO document_fts(document_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO document_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END""",
    ]


FTS_DDL = fts_ddl()
# Re-reads every document row into the index (an external-content table keeps no text of its own).
FTS_REBUILD = "INSERT INTO document_fts(document_fts) VALUES ('rebuild')"
FTS_DROP = [
    "DROP TRIGGER IF EXISTS document_fts_au",
    "DROP TRIGGER IF EXISTS document_fts_ad",
    "DROP TRIGGER IF EXISTS document_fts_ai",
    "DROP TABLE IF EXISTS document_fts",
]


def install_pragmas(engine: Engine) -> None:
    """WAL for concurrent readers during ingest; foreign keys on; wait instead of failing on locks."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # NORMAL is durable across application crashes in WAL mode (only an OS crash
        # can lose the last commits), which is the failure the restart test covers.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


_TOKEN = re.compile(r"\w+", re.UNICODE)


def to_fts_query(query: str) -> str:
    """Turn analyst input into a safe FTS5 MATCH expression.

    Plain words become an AND of quoted tokens (so hostile input cannot inject FTS syntax);
    "quoted phrases" stay phrases; a trailing * on a word keeps prefix search; OR between
    terms is honoured.
    """
    parts: list[str] = []
    for m in re.finditer(r'"([^"]*)"|(\S+)', query):
        phrase, word = m.group(1), m.group(2)
        if phrase is not None:
            toks = _TOKEN.findall(phrase)
            if toks:
                parts.append('"' + " ".join(toks) + '"')
        elif word == "OR" and parts and parts[-1] != "OR":
            parts.append("OR")
        else:
            prefix = word.endswith("*")
            for tok in _TOKEN.findall(word):
                parts.append(f'"{tok}"' + ("*" if prefix else ""))
    while parts and parts[-1] == "OR":
        parts.pop()
    return " ".join(parts)


def fts_subquery(query: str):
    """A selectable of (id, rank) for the FTS match, lower rank first; joined by portable code."""
    match = to_fts_query(query)
    if not match:
        return None
    return (
        text("SELECT rowid AS id, bm25(document_fts, 2.0, 1.0) AS rank "
             "FROM document_fts WHERE document_fts MATCH :q")
        .bindparams(q=match)
        .columns(id=Integer, rank=Float)
        .subquery("fts")
    )


def snippets(conn, query: str, ids: list[int]) -> dict[int, str]:
    """Highlighted fragments for the few hits shown."""
    match = to_fts_query(query)
    if not match or not ids:
        return {}
    marks = ",".join(str(int(i)) for i in ids)
    rows = conn.execute(text(
        "SELECT rowid, snippet(document_fts, 1, '\u27e8', '\u27e9', '…', 24) FROM document_fts "
        f"WHERE document_fts MATCH :q AND rowid IN ({marks})"), {"q": match})
    return {i: s for i, s in rows}
