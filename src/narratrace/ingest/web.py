"""Fetching what the analyst asks for — pages, RSS/Atom feeds, sitemaps — and nothing else.

Guards, each because a hostile page or feed can exploit its absence:
- only http(s); file://, ftp:// and friends are refused;
- every hop's host is resolved and refused when any address is private, loopback,
  link-local (cloud metadata at 169.254.169.254), multicast or reserved, unless the
  analyst passes allow_private (e.g. for an intranet archive);
- redirects are followed by hand, at most MAX_REDIRECTS, each re-checked;
- bodies are streamed and cut at max_bytes; connect/read timeouts are bounded, and the whole
  fetch (redirects and retries included) has one deadline, NARRATRACE_FETCH_SECONDS;
- 429/502/503/504 are retried (tenacity) at most MAX_TRIES times, honouring Retry-After but never
  past the deadline: a busy server is asked again politely, a hostile one cannot hold the fetch;
- an IPv6 address that embeds an IPv4 one (mapped, compatible, NAT64, 6to4, Teredo) is judged by
  the IPv4 address too;
- XML is parsed with defusedxml (no entity expansion, no external DTDs: XML bombs fail).
Residual risk, documented in docs/decisions.md: DNS can change between our check and the
connection (rebinding); run behind an egress proxy where that matters.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx
import tenacity
from defusedxml import ElementTree as DET
from defusedxml.common import DefusedXmlException

from narratrace import settings
from narratrace.clean.text import parse_date, to_utc
from narratrace.ingest.items import DEFAULT_MAX_BYTES, InputError, Problem, RawItem

MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(20.0, connect=10.0)
USER_AGENT = "narratrace/0.1 (+offline-first research tool)"
MAX_FEED_ENTRIES = 5000
# Retries: statuses that say "later" (rate limit, a gateway or the origin briefly down), not "no".
# Three tries is what polite crawlers use (urllib3's default Retry(total=3) is the same order);
# without Retry-After the waits are 1 s then ~2 s (exponential, jittered), well inside the 60 s
# deadline. A Retry-After beyond MAX_RETRY_WAIT (or past the deadline) is not waited for: a server
# that asks for minutes will not be ready in seconds, and waiting less than it asks is pointless.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_TRIES = 3
MAX_RETRY_WAIT = 30.0
MAX_SITEMAP_DEPTH = 2

Resolver = Callable[[str], list[str]]


class RetryLater(InputError):
    """A response that asks to be retried (RETRY_STATUSES); ``wait``: its Retry-After in seconds."""

    def __init__(self, status: int, wait: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.wait = status, wait


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: delta-seconds or an HTTP date (RFC 9110 10.2.3),
    relative to ``now`` (epoch seconds; the response's ``Date`` when it has one). None when absent
    or unreadable; a date in the past is 0."""
    value = (value or "").strip()
    if value.isdigit():
        return float(value)
    when = http_date(value)
    return None if when is None else max(0.0, when - (time.time() if now is None else now))


def http_date(value: str | None) -> float | None:
    """An HTTP date ("Wed, 21 Oct 2026 07:28:00 GMT") as epoch seconds; None when absent or unreadable."""
    try:
        return parsedate_to_datetime((value or "").strip()).timestamp()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def system_resolver(host: str) -> list[str]:
    try:
        return sorted({ai[4][0] for ai in socket.getaddrinfo(host, None)})
    except socket.gaierror as exc:
        raise InputError(f"cannot resolve host '{host}': {exc.strerror}") from exc


def check_url(url: str, *, allow_private: bool = False, resolver: Resolver = system_resolver) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:  # "http://[::1/": a hostile feed link or Location must not stop the batch
        raise InputError(f"refused: invalid URL ({exc})") from exc
    if parts.scheme not in ("http", "https"):
        raise InputError(f"refused: only http(s) URLs are fetched, not '{parts.scheme or 'no scheme'}:'")
    if not host:
        raise InputError("refused: URL has no host")
    if allow_private:
        return
    try:
        addrs = [host] if _is_ip(host) else resolver(host)
    except InputError:
        raise
    for a in addrs:
        ip = ipaddress.ip_address(a.split("%")[0])
        for addr in (ip, *_embedded_ipv4(ip)):
            if not addr.is_global or addr.is_multicast:
                raise InputError(f"refused: {host} resolves to non-public address {addr}"
                                 + (f" (inside {ip})" if addr is not ip else "")
                                 + " (pass --allow-private to fetch from private networks)")


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, each of which a host may route to: IPv4-mapped
    (``::ffff:127.0.0.1``), IPv4-compatible (``::127.0.0.1``), NAT64 (``64:ff9b::7f00:1``, RFC 6052
    and RFC 8215's local-use prefix), 6to4 (``2002:7f00:1::``) and Teredo (server and client). Python's
    ``is_global`` judges the IPv6 form alone (before 3.13 ``::ffff:127.0.0.1`` counts as global)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    out = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo:
        out.extend(ip.teredo)
    if ip in _IPV4_COMPATIBLE or any(ip in net for net in _NAT64):
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return out


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


class Fetcher:
    def __init__(self, *, allow_private: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                 client: httpx.Client | None = None, resolver: Resolver = system_resolver,
                 seconds: float | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.allow_private = allow_private
        self.sleep, self.clock = sleep, clock  # injectable: tests retry without waiting
        self.max_bytes = max_bytes
        self.seconds = float(settings.get("NARRATRACE_FETCH_SECONDS") or 0) if seconds is None else seconds
        self.resolver = resolver
        self.client = client or httpx.Client(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT},
                                             follow_redirects=False, trust_env=False)

    def get(self, url: str) -> tuple[str, bytes, str]:
        """(final URL, body, content type). Raises InputError with a one-line reason.

        The whole fetch, redirects and retries included, has one deadline (``self.seconds``):
        timeouts per read alone let a server dripping a byte every 5 s hold a fetch for minutes
        (issue 15). A silent server still costs at most the read timeout past it."""
        current = url
        stop = self.clock() + self.seconds if self.seconds > 0 else float("inf")
        for _hop in range(MAX_REDIRECTS + 1):
            if self.clock() > stop:
                raise InputError(f"fetch took over {self.seconds:g} s (NARRATRACE_FETCH_SECONDS) in redirects")
            # Check the URL as httpx parses it, since that is what gets connected to:
            # urllib and httpx disagree on some inputs ("127。0。0。1" is 127.0.0.1 to httpx).
            try:
                target = httpx.URL(current)
            except (httpx.InvalidURL, ValueError) as exc:
                raise InputError(f"refused: invalid URL ({exc})") from exc
            check_url(str(target), allow_private=self.allow_private, resolver=self.resolver)
            outcome = self._with_retries(target, stop)
            if isinstance(outcome, str):
                current = outcome  # a redirect
                continue
            return current, *outcome
        raise InputError(f"more than {MAX_REDIRECTS} redirects")

    def _with_retries(self, target: httpx.URL, stop: float):
        """``_once`` retried on RETRY_STATUSES: at most MAX_TRIES tries, each wait the response's
        Retry-After (else exponential with jitter), and never a wait that ends past ``stop``."""
        backoff = tenacity.wait_exponential_jitter(initial=1, max=MAX_RETRY_WAIT, jitter=1)

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception()
            asked = getattr(exc, "wait", None)
            return backoff(state) if asked is None else asked

        def give_up(state: tenacity.RetryCallState) -> bool:
            return (state.attempt_number >= MAX_TRIES or state.upcoming_sleep > MAX_RETRY_WAIT
                    or self.clock() + state.upcoming_sleep > stop)

        retrying = tenacity.Retrying(retry=tenacity.retry_if_exception_type(RetryLater), wait=wait,
                                     stop=give_up, sleep=self.sleep, reraise=False)
        try:
            return retrying(self._once, target, stop)
        except tenacity.RetryError as err:
            last = err.last_attempt.exception()
            tries = err.last_attempt.attempt_number
            why = f"HTTP {last.status} after {tries} {'try' if tries == 1 else 'tries'}"
            if tries < MAX_TRIES:
                asked = f"Retry-After {last.wait:g} s" if last.wait is not None else "the next wait"
                limit = ("the fetch deadline (NARRATRACE_FETCH_SECONDS)" if last.wait is None
                         or last.wait <= MAX_RETRY_WAIT else f"the {MAX_RETRY_WAIT:g} s most a retry waits")
                why += f": {asked} would run past {limit}"
            raise InputError(why) from None

    def _once(self, target: httpx.URL, stop: float):
        """One request: the redirect's absolute Location (str), or (body, content type)."""
        try:
            with self.client.stream("GET", target) as resp:
                if resp.is_redirect:
                    loc = resp.headers.get("location")
                    if not loc:
                        raise InputError(f"HTTP {resp.status_code} redirect without a Location")
                    try:
                        return urljoin(str(target), loc)
                    except ValueError as exc:
                        raise InputError(f"HTTP {resp.status_code} redirect to an invalid URL ({exc})") from exc
                if resp.status_code in RETRY_STATUSES:
                    # A date is read against the server's own clock (its Date header) when it sends one.
                    now = http_date(resp.headers.get("date"))
                    raise RetryLater(resp.status_code, retry_after(resp.headers.get("retry-after"), now))
                if resp.status_code >= 400:
                    raise InputError(f"HTTP {resp.status_code}")
                try:
                    declared = int(resp.headers.get("content-length") or 0)
                except ValueError:
                    declared = 0  # unparseable: the streamed count below still enforces the cap
                if declared > self.max_bytes:
                    raise InputError(f"response is {declared / 2**20:.1f} MB, over the limit")
                chunks, size = [], 0
                for chunk in resp.iter_bytes():
                    if self.clock() > stop:
                        raise InputError(f"fetch took over {self.seconds:g} s (NARRATRACE_FETCH_SECONDS): "
                                         f"stopped after {size:,} bytes")
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise InputError(f"response over the {self.max_bytes / 2**20:.3g} MB limit")
                    chunks.append(chunk)
                return b"".join(chunks), resp.headers.get("content-type", "")
        except httpx.TimeoutException as exc:
            raise InputError(f"timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise InputError(f"network error: {exc}") from exc

    def page(self, url: str, feed: str | None = None, hints: dict | None = None) -> RawItem:
        final, body, ctype = self.get(url)
        kind = "html" if ("html" in ctype or not ctype or body.lstrip()[:1] == b"<") else "text"
        if "pdf" in ctype:
            kind = "pdf"
        charset = ctype.lower().split("charset=")[-1].split(";")[0].strip() if "charset=" in ctype.lower() else None
        item = RawItem(origin=url, kind=kind, data=body, url=final, feed=feed, charset=charset)
        for k, v in (hints or {}).items():
            if v and getattr(item, k, None) is None:
                setattr(item, k, v)
        return item


# --- XML: feeds and sitemaps ------------------------------------------------------------

def _parse_xml(body: bytes, what: str):
    try:
        return DET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InputError(f"refused {what}: unsafe XML ({type(exc).__name__}: entity or DTD declarations)") from exc
    except DET.ParseError as exc:
        raise InputError(f"malformed {what} XML: {exc}") from exc
    except (LookupError, ValueError) as exc:  # e.g. encoding="bogus" in the XML declaration
        raise InputError(f"malformed {what} XML: {exc}") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def parse_feed(body: bytes) -> list[dict]:
    """RSS 2.0 / RSS 1.0 / Atom entries as dicts of url, title, author, published_at."""
    root = _parse_xml(body, "feed")
    entries = []
    for el in root.iter():
        if _local(el.tag) not in ("item", "entry"):
            continue
        entry: dict = {}
        for child in el:
            name = _local(child.tag)
            text = (child.text or "").strip()
            if name == "link":
                href = child.get("href")
                if href and child.get("rel", "alternate") == "alternate":
                    entry.setdefault("url", href.strip())
                elif text:
                    entry.setdefault("url", text)
            elif name == "title" and text:
                entry["title"] = text
            elif name in ("pubdate", "published", "updated", "date") and text:
                entry.setdefault("published_at", _feed_date(text))
            elif name in ("author", "creator"):
                entry["author"] = text or "".join((c.text or "") for c in child if _local(c.tag) == "name").strip()
        if entry.get("url"):
            entries.append(entry)
        if len(entries) >= MAX_FEED_ENTRIES:
            break
    return entries


def _feed_date(value: str):
    try:
        return parse_date(value) or _rfc822(value)
    except (ValueError, OverflowError):  # "0001-01-01T00:00:00+14:00" overflows when moved to UTC
        return None


def _rfc822(value: str):
    try:
        return to_utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, OverflowError):
        return None


def parse_sitemap(body: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, child sitemap URLs)."""
    root = _parse_xml(body, "sitemap")
    pages, children = [], []
    kind = _local(root.tag)
    for el in root.iter():
        if _local(el.tag) == "loc" and el.text:
            (children if kind == "sitemapindex" else pages).append(el.text.strip())
    return pages, children


def iter_urls(fetcher: Fetcher, urls: list[str], mode: str) -> Iterator[RawItem | Problem]:
    """mode: page | feed | sitemap."""
    for url in urls:
        try:
            if mode == "page":
                yield fetcher.page(url)
            elif mode == "feed":
                _final, body, _ = fetcher.get(url)
                for e in parse_feed(body):
                    try:
                        yield fetcher.page(e["url"], feed=url, hints={k: e.get(k) for k in ("title", "author", "published_at")})
                    except InputError as exc:
                        yield Problem(e["url"], "failed", str(exc))
            elif mode == "sitemap":
                yield from _sitemap(fetcher, url, 0)
            else:
                raise InputError(f"unknown URL mode '{mode}'")
        except InputError as exc:
            yield Problem(url, "failed", str(exc))


def _sitemap(fetcher: Fetcher, url: str, depth: int) -> Iterator[RawItem | Problem]:
    _final, body, _ = fetcher.get(url)
    pages, children = parse_sitemap(body)
    for p in pages:
        try:
            yield fetcher.page(p)
        except InputError as exc:
            yield Problem(p, "failed", str(exc))
    for c in children:
        if depth + 1 > MAX_SITEMAP_DEPTH:
            yield Problem(c, "skipped", f"sitemap nesting deeper than {MAX_SITEMAP_DEPTH}")
            continue
        try:
            yield from _sitemap(fetcher, c, depth + 1)
        except InputError as exc:
            yield Problem(c, "failed", str(exc))
