"""One error family. Every error narratrace raises on purpose is a ``NarratraceError``: its class says
what went wrong in a way each face can act on without reading the message —

- ``status``: the HTTP status the REST API answers with (serve/app.py has the one handler);
- ``exit_code``: what the CLI exits with (cli/common.py has the one handler).

The message says what to do next, in one line. Module-specific classes (``NarrativeError``,
``RunnerError``, …) subclass one of the kinds below, so ``except NarrativeError`` still reads well
where it is raised and ``except NarratraceError`` catches everything at the edge. Nothing anywhere
picks a status or an exit code by matching message text.

Exit codes: 0 ok; 1 the request cannot be done as asked (bad input, unknown id, conflict);
2 is the CLI's own usage error (typer/click: unknown option, missing argument);
3 something this installation lacks (an extra, a model file, a device); 4 the store failed
(cannot open, migrate or copy a workspace).
"""

from __future__ import annotations


class NarratraceError(Exception):
    """Base of every deliberate error. A bare one means "bad request"."""

    status = 400
    exit_code = 1


class InvalidInput(NarratraceError, ValueError):
    """The input (a file, an option, a request body, a registry entry) is malformed or out of range.
    Also a ``ValueError``, so a caller of a pure function can catch the builtin it expects."""


class NotFound(NarratraceError, LookupError):
    """An id, key or path names nothing stored."""

    status = 404


class Conflict(NarratraceError):
    """The request contradicts what is stored (a non-empty migration target, a stage not yet run)."""

    status = 409


class TooLarge(InvalidInput):
    """An input over a configured size limit."""

    status = 413


class Unavailable(NarratraceError, RuntimeError):
    """Something this installation lacks: an optional extra, a model file, a device, a server."""

    status = 503
    exit_code = 3


class StoreFailure(NarratraceError, RuntimeError):
    """The workspace cannot be opened, upgraded or copied."""

    status = 500
    exit_code = 4
