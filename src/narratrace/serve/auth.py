"""Who is asking: bearer tokens for scripts, an HttpOnly cookie for the browser, and an open
mode for one analyst on their own machine.

Tokens are configured, never stored in the workspace: ``--token NAME:ROLE:TOKEN`` or
``$NARRATRACE_TOKENS`` (comma-separated). Roles: ``viewer`` reads, ``analyst`` also writes.

CSRF: a browser sends cookies with a cross-site form post, but it cannot add a custom header
to a cross-origin request without a CORS preflight, and this server answers no preflight.
So every write that is not authenticated by an ``Authorization`` header (cookie, or open mode)
must carry ``X-Narratrace: 1``. Open mode also refuses foreign ``Host`` headers, which is what a
DNS-rebinding page would send to a server on 127.0.0.1.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from narratrace import settings
from narratrace.errors import InvalidInput

ROLES = ("viewer", "analyst")
COOKIE = "narratrace_token"
CSRF_HEADER = "x-narratrace"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# TestClient's default host: tests of this app and of the dashboard use it (no DNS name resolves to it).
LOCAL_HOST_NAMES = frozenset(LOOPBACK) | {"testserver", "[::1]"}

Tokens = dict[str, tuple[str, str]]


class AuthConfigError(InvalidInput):
    """A token specification or a bind address that would leave the store unprotected."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def can_write(self) -> bool:
        return self.role == "analyst"


OPEN_USER = User("local", "analyst")


def parse_tokens(specs: Iterable[str]) -> Tokens:
    """``NAME:ROLE:TOKEN`` items → {token: (name, role)}; errors say which item is wrong."""
    out: Tokens = {}
    for raw in specs:
        spec = raw.strip()
        if not spec:
            continue
        parts = spec.split(":", 2)
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise AuthConfigError(f"token '{_redact(spec)}' is not NAME:ROLE:TOKEN "
                                  "(e.g. ana:analyst:s3cret-long-token)")
        name, role, token = (p.strip() for p in parts)
        if role not in ROLES:
            raise AuthConfigError(f"token for '{name}': role '{role}' is not one of {', '.join(ROLES)}")
        if len(token) < 8:
            raise AuthConfigError(f"token for '{name}' is shorter than 8 characters: use a long random one "
                                  "(python -c 'import secrets; print(secrets.token_urlsafe())')")
        if token in out:
            raise AuthConfigError(f"token for '{name}' is the same as the token for '{out[token][0]}'")
        out[token] = (name, role)
    return out


def tokens_from_env(env: str | None = None) -> Tokens:
    raw = (settings.get("NARRATRACE_TOKENS") or "") if env is None else env
    return parse_tokens(raw.split(","))


def _redact(spec: str) -> str:
    head, _, _ = spec.rpartition(":")
    return (head + ":…") if head else "…"


def is_loopback(host: str) -> bool:
    return host.strip("[]").lower() in LOOPBACK


def check_bind(host: str, tokens: Tokens | None) -> None:
    """Refuse to serve an unauthenticated workspace beyond this machine."""
    if not is_loopback(host) and not tokens:
        raise AuthConfigError(f"bound to {host} narratrace needs tokens: --token NAME:ROLE:TOKEN or $NARRATRACE_TOKENS "
                              "(or bind to 127.0.0.1 for a single analyst on this machine)")


def _host_name(host: str) -> str:
    """'127.0.0.1:8000' → '127.0.0.1', '[::1]:8000' → '[::1]'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _match(tokens: Tokens, given: str) -> tuple[str, str] | None:
    # Compare against every token in constant time: no early exit that times which one is close.
    found = None
    for token, who in tokens.items():
        if hmac.compare_digest(token.encode(), given.encode()):
            found = who
    return found


# Guessing tokens, two limits in one sliding window of FAILURE_WINDOW seconds (in memory, per server):
# - per client address: at most MAX_FAILURES wrong tokens, then 429 for that address (even with the
#   right token) until the oldest failure leaves the window. A person who mistypes a token does not
#   fail ten times a minute; a guesser (237 tries/s were measured before this) is cut to 10 a minute.
# - per token name: a bearer token carries no name, so a wrong one may be a guess at any name and
#   counts against all of them: past MAX_NAME_FAILURES wrong tokens from all addresses together (a
#   guesser spread over many addresses), a sign-in as a name is refused (429) unless this address
#   signed in as that name within TRUST_SECONDS. The real user keeps working from where they signed
#   in before (OWASP's "device cookie" idea, keyed by address); a new address waits at most until
#   the burst stops plus the window (Retry-After), never longer: the lock-out cannot be made permanent.
# MAX_NAME_FAILURES is three addresses' worth of the per-address budget: a few colleagues mistyping
# at once stay under it, while 1,000 guessing addresses get 30 guesses a minute instead of 10,000.
MAX_FAILURES = 10
MAX_NAME_FAILURES = 30
FAILURE_WINDOW = 60.0
TRUST_SECONDS = 24 * 3600.0  # a working day and the night: a browser's cookie re-proves it on each request
MAX_TRACKED_CLIENTS = 10_000  # the tables' bound: beyond it the stalest entries are forgotten


def _too_many(message: str, wait: float) -> HTTPException:
    seconds = int(wait) + 1
    return HTTPException(429, message.format(wait=seconds), headers={"Retry-After": str(seconds)})


class FailureThrottle:
    """Failed sign-ins per client address and per token name, in a sliding window. ``clock`` is
    injectable for tests."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = FAILURE_WINDOW,
                 max_name_failures: int = MAX_NAME_FAILURES, trust_seconds: float = TRUST_SECONDS,
                 clock=time.monotonic) -> None:
        self.max_failures, self.window, self.trust_seconds, self.clock = max_failures, window, trust_seconds, clock
        self._fails: dict[str, deque] = {}
        self._all: deque = deque(maxlen=max_name_failures)  # the latest wrong tokens, from anyone
        self._trusted: dict[tuple[str, str], float] = {}  # (address, name) → last sign-in
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Before the token is compared: 429 when ``client`` has used up its failures."""
        now = self.clock()
        with self._lock:
            q = self._fails.get(client)
            while q and now - q[0] > self.window:
                q.popleft()
            if q and len(q) >= self.max_failures:
                raise _too_many("too many wrong tokens from this address: wait {wait} s and try again",
                                self.window - (now - q[0]))

    def settle(self, client: str, name: str | None) -> None:
        """After the comparison: ``name`` is whose token it was (None: a wrong one). Records the
        outcome; 429 while the names are under a burst of guesses and ``client`` has not signed in
        as ``name`` before (a wrong token during a burst gets the 429 too: same answer as a right one)."""
        now = self.clock()
        with self._lock:
            burst = len(self._all) == self._all.maxlen and now - self._all[0] <= self.window
            trusted = name is not None and now - self._trusted.get((client, name), -math.inf) <= self.trust_seconds
            if name is None:
                self._fail(client, now)
            elif not burst:
                _bounded_set(self._trusted, (client, name), now)
            if burst and not trusted:
                raise _too_many("too many wrong tokens for this server's users, from many addresses: wait {wait} s "
                                "and try again (addresses that signed in before are not held up)",
                                self.window - (now - self._all[0]))

    def fail(self, client: str) -> None:
        with self._lock:
            self._fail(client, self.clock())

    def _fail(self, client: str, now: float) -> None:
        if client not in self._fails and len(self._fails) >= MAX_TRACKED_CLIENTS:
            self._fails.pop(next(iter(self._fails)))
        self._fails.setdefault(client, deque(maxlen=self.max_failures)).append(now)
        self._all.append(now)


def _bounded_set(table: dict, key, value) -> None:
    table.pop(key, None)  # re-inserted last: the dict's order is the staleness order
    if len(table) >= MAX_TRACKED_CLIENTS:
        table.pop(next(iter(table)))
    table[key] = value


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _throttle(request: Request) -> FailureThrottle | None:
    return getattr(request.app.state, "throttle", None)


def same_origin(request: Request) -> None:
    """403 for a cross-site form post (login CSRF: a page elsewhere signing the analyst in as
    someone else, or out). Browsers send ``Origin`` (and ``Sec-Fetch-Site``) with every POST;
    a script without them is not a browser being tricked. Our no-referrer policy makes Chromium
    send ``Origin: null`` with the login form's own post (with ``Sec-Fetch-Site: same-origin``,
    measured with Debian's chromium): that pair is our page; ``null`` without the fetch metadata
    that vouches for it (a sandboxed frame, an old browser) is refused."""
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    host = (request.headers.get("host") or "").lower()
    if site and site not in ("same-origin", "none"):
        raise HTTPException(403, "sign-in and sign-out only from this server's own pages")
    if origin and origin != "null" and urlsplit(origin).netloc.lower() != host:
        raise HTTPException(403, "sign-in and sign-out only from this server's own pages")
    if origin == "null" and site != "same-origin":
        raise HTTPException(403, "sign-in and sign-out only from this server's own pages")


# The dashboard's own forms, which must work without script (a form cannot add a header): a
# write there passes the CSRF guard when the browser's fetch metadata says the form was on one of
# this server's pages. Chromium, Firefox and Safari send ``Sec-Fetch-Site`` with every request
# ("cross-site" / "same-site" for a page elsewhere, even on another port of 127.0.0.1); ``Origin``
# cannot serve, as our no-referrer policy makes a browser send "Origin: null" with same-origin
# form posts (measured with Debian's chromium). A request without the header is refused.
FORM_WRITES = frozenset({"/reviews"})


def same_origin_form(request: Request) -> bool:
    scope = request.scope
    path, root = scope.get("path", ""), scope.get("root_path", "")
    path = path[len(root):] if root and path.startswith(root) else path
    return path in FORM_WRITES and request.headers.get("sec-fetch-site") == "same-origin"


def current_user(request: Request) -> User:
    """The FastAPI dependency behind every route: who is asking, and may they send this request."""
    tokens: Tokens | None = getattr(request.app.state, "tokens", None)
    header = request.headers.get("authorization", "")
    by_header = header[:7].lower() == "bearer "
    write = request.method not in SAFE_METHODS
    if not tokens:
        host = _host_name(request.headers.get("host") or "")
        if host not in LOCAL_HOST_NAMES:
            raise HTTPException(400, f"open mode answers only requests to localhost, not to host '{host[:64]}'")
        user = OPEN_USER
    else:
        given = header[7:].strip() if by_header else request.cookies.get(COOKIE, "")
        throttle = _throttle(request)
        if given and throttle:
            throttle.check(_client(request))
        who = _match(tokens, given) if given else None
        if given and throttle:
            throttle.settle(_client(request), who[0] if who else None)
        if who is None:
            raise HTTPException(401, "sign in: send 'Authorization: Bearer <token>' or log in at /login",
                                headers={"WWW-Authenticate": "Bearer"})
        user = User(*who)
    if write and not by_header and request.headers.get(CSRF_HEADER) != "1" and not same_origin_form(request):
        raise HTTPException(403, "writes from a browser session must carry the header 'X-Narratrace: 1' "
                                 "(scripts: use 'Authorization: Bearer <token>')")
    request.state.user = user
    return user


def require_analyst(request: Request) -> User:
    """The dependency for writes: an analyst, with the CSRF guard of current_user."""
    user = current_user(request)
    if not user.can_write:
        raise HTTPException(403, f"'{user.name}' is a {user.role}: writing needs the analyst role")
    return user


# Writes anyone may send: /login carries its token in the body, /logout only clears a cookie.
PUBLIC_WRITES = frozenset({"/login", "/logout"})


def check_before_body(request: Request, path: str) -> User | None:
    """The auth dependencies' verdict on a write, from its headers alone (``path`` without the
    root path). FastAPI reads a request's body before it solves the dependencies, so the app's
    body guard (serve/app.py) asks this first: every write under /api/ needs the analyst role
    (require_analyst), any other write a user (current_user), the public writes nobody (None).
    Raises their own 400/401/403."""
    if path in PUBLIC_WRITES:
        return None
    return require_analyst(request) if path.startswith("/api/") else current_user(request)


def check_token(tokens: Tokens | None, token: str, request: Request | None = None) -> User | None:
    """For POST /login: the user a token belongs to, or None (throttled per client and per token
    name with ``request``)."""
    if not tokens:
        return OPEN_USER
    throttle = _throttle(request) if request is not None else None
    if throttle:
        throttle.check(_client(request))
    who = _match(tokens, token.strip())
    if throttle:
        throttle.settle(_client(request), who[0] if who else None)
    return User(*who) if who else None
