"""PostgreSQL-only SQL, kept in this one module: full-text search and the pgvector index.

The schema itself is the portable one (``models.py``, the same Alembic migrations); this module
adds what SQLite does with FTS5 and a usearch file:

- Full text: a stored generated column ``fts_vector`` with a GIN index, over ``setweight(to_tsvector(cfg, title), 'A') ||
  setweight(to_tsvector(cfg, left(text, FTS_CHARS)), 'B')``. ``cfg`` is ``narratrace_search``
  (migration 0012): ``simple`` (lowercase, no stemming, no stop words) for every token, except
  ASCII words, which go through the Snowball English stemmer without its stop-word list — the
  counterpart of SQLite's ``porter unicode61``: "protest" finds "protests" and "protested",
  while Persian (and any non-ASCII) words are indexed as ``simple`` made them, as before.
  One configuration for every language keeps a query's meaning the same whatever the
  document's language (PostgreSQL has no Persian dictionary).
- Vectors: one table per embedding model, ``vec_<model>`` (sentence id, ``halfvec(dim)``) with an
  HNSW index (cosine). It is derived data like the usearch file: rebuilt from the ``embedding``
  cache when it disagrees with ``vector_index_state``.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
from sqlalchemy import Float, Integer, text
from sqlalchemy.engine import Connection, Engine

# to_tsvector of one value is capped at 1 MB by PostgreSQL, and an index expression that fails
# would make the document's INSERT fail. 250k characters of adversarial all-distinct tokens stay
# under ~0.5 MB (measured with the hostile-input suite's 1.2 MB page); news articles are < 50k.
FTS_CHARS = 250_000
# Title counts twice the body, as bm25(document_fts, 2.0, 1.0) does on SQLite: ts_rank_cd's
# weights are {D, C, B, A}; titles are A, bodies B.
_RANK_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"
# The search configuration: ``simple`` with English stemming for ASCII words (asciiword,
# asciihword and the ASCII parts of hyphenated words); a Snowball dictionary without StopWords, so
# a query for "the" or "not" still means what it says, as on SQLite. CREATE TEXT SEARCH has no
# IF NOT EXISTS: the DO block makes it re-runnable (migrations 0006 and 0012 both run it).
FTS_CONFIG = "narratrace_search"
FTS_UNSTEMMED = "simple"  # 0006 to 0011
FTS_CONFIG_DDL = f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'narratrace_english_stem'
                 AND dictnamespace = current_schema()::regnamespace) THEN
    CREATE TEXT SEARCH DICTIONARY narratrace_english_stem (TEMPLATE = snowball, Language = english);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{FTS_CONFIG}'
                 AND cfgnamespace = current_schema()::regnamespace) THEN
    CREATE TEXT SEARCH CONFIGURATION {FTS_CONFIG} (COPY = simple);
    ALTER TEXT SEARCH CONFIGURATION {FTS_CONFIG}
      ALTER MAPPING FOR asciiword, asciihword, hword_asciipart WITH narratrace_english_stem;
  END IF;
END $$"""
FTS_CONFIG_DROP = [f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {FTS_CONFIG}",
                   "DROP TEXT SEARCH DICTIONARY IF EXISTS narratrace_english_stem"]


def fts_vector(config: str = FTS_CONFIG) -> str:
    return (f"(setweight(to_tsvector('{config}'::regconfig, coalesce(title, '')), 'A') || "
            f"setweight(to_tsvector('{config}'::regconfig, left(text, {FTS_CHARS})), 'B'))")


FTS_VECTOR = fts_vector()
# A stored generated column, not only an expression index: ranking reads each match's tsvector,
# and recomputing to_tsvector per matching row made a broad query 40× slower (bench/scale.py:
# 764 ms vs 31 ms on SQLite at 5k documents). Not in the ORM models: the database fills it.
FTS_COLUMN = "fts_vector"
FTS_INDEX = "ix_document_fts_pg"


def fts_ddl(config: str = FTS_CONFIG) -> list[str]:
    """The generated column and its GIN index with the given configuration (re-runnable)."""
    return ([FTS_CONFIG_DDL] if config == FTS_CONFIG else []) + [
        f"ALTER TABLE document ADD COLUMN IF NOT EXISTS {FTS_COLUMN} tsvector GENERATED ALWAYS AS "
        f"{fts_vector(config)} STORED",
        f"CREATE INDEX IF NOT EXISTS {FTS_INDEX} ON document USING gin ({FTS_COLUMN})"]


FTS_DDL = fts_ddl()
# the column and index only: the configuration may outlive them (0012's downgrade keeps 0006's state)
FTS_DROP_COLUMN = [f"DROP INDEX IF EXISTS {FTS_INDEX}", f"ALTER TABLE document DROP COLUMN IF EXISTS {FTS_COLUMN}"]
FTS_DROP = FTS_DROP_COLUMN + FTS_CONFIG_DROP
EXTENSION_DDL = "CREATE EXTENSION IF NOT EXISTS vector"

# PostgreSQL's parser keeps a ZWNJ-joined Persian word (مغازه‌ها) as one lexeme, so the query
# must too: split at the ZWNJ, the word was never found on this backend.
_TOKEN = re.compile(r"\w+(?:\u200c\w+)*", re.UNICODE)


def install_extension(conn: Connection) -> None:
    """pgvector must be created by a role allowed to (a superuser, or the database owner on
    PostgreSQL ≥ 13 when the extension is marked trusted); say so instead of a bare SQL error."""
    try:
        conn.execute(text(EXTENSION_DDL))
    except Exception as exc:  # psycopg's InsufficientPrivilege or UndefinedFile
        raise RuntimeError(
            "could not create the pgvector extension in this database: install pgvector on the server "
            "and run `CREATE EXTENSION vector;` once as a superuser, then retry "
            f"({str(exc).splitlines()[0]})") from exc


def to_tsquery_text(query: str) -> str:
    """Analyst input as a to_tsquery() string, with the same grammar as the SQLite backend:
    words are ANDed, "quoted phrases" stay phrases, word* is a prefix, OR between terms.
    Every lexeme is a \\w+ token in quotes, so hostile input cannot inject tsquery syntax."""
    groups: list[list[str]] = [[]]
    for m in re.finditer(r'"([^"]*)"|(\S+)', query):
        phrase, word = m.group(1), m.group(2)
        if phrase is not None:
            toks = _TOKEN.findall(phrase)
            if toks:
                groups[-1].append("(" + " <-> ".join(f"'{t}'" for t in toks) + ")")
        elif word == "OR" and groups[-1]:  # as on SQLite: a leading or doubled OR is a word
            groups.append([])
        else:
            prefix = word.endswith("*")
            groups[-1].extend(f"'{t}'" + (":*" if prefix else "") for t in _TOKEN.findall(word))
    parts = ["(" + " & ".join(g) + ")" for g in groups if g]
    return " | ".join(parts)


def fts_subquery(query: str):
    """A selectable of (id, rank) for the match, lower rank first (as SQLite's bm25)."""
    tsq = to_tsquery_text(query)
    if not tsq:
        return None
    return (
        text(f"SELECT id, -ts_rank_cd('{_RANK_WEIGHTS}'::float4[], {FTS_COLUMN}, q) AS rank "
             f"FROM document, to_tsquery('{FTS_CONFIG}'::regconfig, :q) AS q WHERE {FTS_COLUMN} @@ q")
        .bindparams(q=tsq)
        .columns(id=Integer, rank=Float)
        .subquery("fts")
    )


def snippets(conn: Connection, query: str, ids: list[int]) -> dict[int, str]:
    """Highlighted fragments for the few hits shown (ts_headline re-parses the text: never run it
    over every match)."""
    tsq = to_tsquery_text(query)
    if not tsq or not ids:
        return {}
    rows = conn.execute(text(
        f"SELECT id, ts_headline('{FTS_CONFIG}'::regconfig, left(text, {FTS_CHARS}), "
        f"to_tsquery('{FTS_CONFIG}'::regconfig, :q), "
        "'StartSel=\u27e8, StopSel=\u27e9, MaxWords=24, MinWords=8, MaxFragments=1, FragmentDelimiter=…') "
        "FROM document WHERE id = ANY(:ids)"), {"q": tsq, "ids": list(ids)})
    return {i: s for i, s in rows}


# -- vectors ---------------------------------------------------------------------------------

def vector_table(model_id: str) -> str:
    """A safe, stable table name for a model id (which may hold '/', '.', '-')."""
    slug = re.sub(r"[^a-z0-9]+", "_", model_id.lower()).strip("_")[:40]
    return f"vec_{slug}_{hashlib.blake2b(model_id.encode(), digest_size=4).hexdigest()}"


class _Matches:
    """The part of usearch's search result VectorStore reads."""

    def __init__(self, keys: np.ndarray, distances: np.ndarray) -> None:
        self.keys, self.distances = keys, distances


class PgVectorIndex:
    """The usearch calls VectorStore makes (len, add, search, save/load, clear), on pgvector.

    Rows go in by COPY; the HNSW graph is built by the first search after a load (an empty or
    cleared table has none), and kept up to date by PostgreSQL after that.
    Writes commit at once in their own transaction, like the usearch file; VectorStore records
    how far it got in ``vector_index_state`` afterwards, and a crash in between shows as a count
    mismatch that makes it rebuild, the same recovery the file has.
    """

    # HNSW parameters: pgvector's defaults (m=16, ef_construction=64). ef_search is raised to k
    # (capped at pgvector's 1000) and iterative scans fill larger k, so a query for 500
    # candidates gets 500 rows; recall@10 against exact search is checked in tests/store/test_postgres.py.
    EF_SEARCH_MAX = 1000

    def __init__(self, engine: Engine, model_id: str, dim: int) -> None:
        self.engine, self.dim = engine, dim
        self.table = vector_table(model_id)
        self.hnsw = f"{self.table}_hnsw"
        with engine.begin() as conn:
            conn.execute(text(f"CREATE TABLE IF NOT EXISTS {self.table} ("
                              f"sentence_id bigint PRIMARY KEY, embedding halfvec({dim}) NOT NULL)"))
            self._count = conn.execute(text(f"SELECT count(*) FROM {self.table}")).scalar_one()
        self._graph = False  # known to exist (checked once, not on every search)

    def __len__(self) -> int:
        return self._count

    def clear(self) -> None:
        """Empty, and without its HNSW index: a rebuild then loads rows first and builds the graph
        once, which pgvector does ~10× faster than inserting into a live graph (bench/scale.py)."""
        with self.engine.begin() as conn:
            conn.execute(text(f"DROP INDEX IF EXISTS {self.hnsw}"))
            conn.execute(text(f"TRUNCATE {self.table}"))
        self._count = 0
        self._graph = False

    def _ensure_graph(self, conn: Connection) -> None:
        """Build the HNSW index when the first search needs it, after a bulk load."""
        if self._graph:
            return
        if conn.execute(text("SELECT to_regclass(:n)"), {"n": self.hnsw}).scalar() is None:
            conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {self.hnsw} ON {self.table} "
                              "USING hnsw (embedding halfvec_cosine_ops)"))
        self._graph = True

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        if len(keys) == 0:
            return
        # COPY in text form: pgvector parses '[x,y,…]'; 6 significant digits are more than the
        # halfvec storage keeps (float16 has ~3.3).
        buf = "".join(f"{int(k)}\t[{','.join(f'{x:.6g}' for x in v)}]\n" for k, v in zip(keys, vectors))
        with self.engine.begin() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f"COPY {self.table} (sentence_id, embedding) FROM STDIN") as cp:
                cp.write(buf)
        self._count += len(keys)

    def search(self, vector: np.ndarray, k: int, exact: bool = False) -> _Matches:
        q = "[" + ",".join(f"{x:.6g}" for x in np.asarray(vector, np.float32).ravel()) + "]"
        with self.engine.begin() as conn:
            if exact:  # "+ 0" keeps the planner off the HNSW index: a scan of every row
                order = f"(embedding <=> CAST(:q AS halfvec({self.dim}))) + 0"
            else:
                self._ensure_graph(conn)
                conn.execute(text(f"SET LOCAL hnsw.ef_search = {min(max(k, 40), self.EF_SEARCH_MAX)}"))
                conn.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
                conn.execute(text(f"SET LOCAL hnsw.max_scan_tuples = {max(20_000, 4 * k)}"))
                order = f"embedding <=> CAST(:q AS halfvec({self.dim}))"
            rows = conn.execute(text(
                f"SELECT sentence_id, embedding <=> CAST(:q AS halfvec({self.dim})) AS d FROM {self.table} "
                f"ORDER BY {order}, sentence_id LIMIT :k"), {"q": q, "k": int(k)}).all()
        # relaxed_order may return rows slightly out of order: sort them, best first.
        rows.sort(key=lambda r: r[1])
        return _Matches(np.array([r[0] for r in rows], np.uint64), np.array([r[1] for r in rows], np.float32))

    def save(self, _path: str) -> None:  # committed on add
        pass

    def load(self, _path: str) -> None:
        pass
