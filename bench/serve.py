"""REST (and dashboard) read latency under concurrent load on loopback, on a large workspace.

    python bench/serve.py                  # 100,000 documents (built once, cached in $TMPDIR)
    python bench/serve.py --quick          # 5,000 documents, fewer requests
    python bench/serve.py --docs 20000 --requests 100 --clients 8
    python bench/serve.py --mixed narratrace-demo.db --seconds 30 --workers 2  # 8 readers while one client ingests

The workspace is not ingested (ingest runs ~110 documents/s here: 15 min for 100k) but
bulk-inserted with SQLAlchemy core into a migrated workspace: fictional documents (8 sentences
each, through the FTS triggers like real ones), sentences, sources, actors, entities, quotes,
mentions, narrative matches, contradictions and coordination groups, in proportions like the
demo's. Cached under ``$TMPDIR/narratrace-bench-serve/`` by size and layout version.

uvicorn serves it in a subprocess on 127.0.0.1 (``--workers`` processes, FastAPI's thread pool in
each); ``--clients`` keep-alive connections on bare asyncio streams drive it (``Reader``: httpx
cost the client more CPU than the server, on the same two cores), ``--requests`` per endpoint,
each endpoint stopping after ``--seconds`` at most. The per-endpoint table runs with the read cache
off (a repeated request would measure the cache); ``--mixed`` runs the server as it ships.
Baselines in the same run: (1) the same Workspace call in-process, no HTTP, sequential (the
HTTP + JSON overhead); (2) the same endpoints on a 1,000-document workspace built the same way
(what grows with size).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

LAYOUT = 1  # bump when the generated rows change: a cached workspace is rebuilt
SENTENCES = 8
WORDS = ("council reform border harvest ministry envoy protest union tariff river delegation archive "
         "hearing treaty pipeline grain province mayor coalition audit budget charter court railway "
         "festival strike ferry census shipyard academy tribunal").split()
NARRATIVES = ["no-domestic-support", "front-organises-unrest", "foreign-hand"]


def _sentence(rng: random.Random, i: int) -> str:
    words = rng.sample(WORDS, 9)
    return f"The {words[0]} of Norvale said the {words[1]} and the {words[2]} met on day {i} about {words[3]}, " \
           f"{words[4]} and {words[5]} near the {words[6]} {words[7]} {words[8]}."


def build(path: Path, n_docs: int, seed: int = 7) -> None:
    """Bulk-insert a fictional workspace of ``n_docs`` documents (see the module docstring)."""
    from sqlalchemy import insert

    from narratrace.store import models as m
    from narratrace.workspace import Workspace

    rng = random.Random(seed)
    ws = Workspace(path, create=True)
    now = datetime(2026, 11, 1)
    t0 = datetime(2026, 1, 1)
    with ws.engine.begin() as c:
        c.execute(insert(m.Actor), [{"id": i, "key": f"actor-{i}", "name": f"Actor {i}"} for i in (1, 2, 3)])
        c.execute(insert(m.Source), [{"id": i, "key": f"src-{i:02d}", "name": f"Outlet {i}", "actor_id": 1 + i % 3,
                                      "audience": ("domestic", "foreign")[i % 2], "language": ("fa", "en")[i % 2],
                                      "kind": "state-media"} for i in range(1, 31)])
        c.execute(insert(m.Entity), [{"id": i, "key": f"person-{i}", "name": f"Person {i}", "kind": "person",
                                      "actor_id": 1 + i % 3} for i in range(1, 201)])
        c.execute(insert(m.Narrative), [{"id": i + 1, "key": k, "name": k.replace("-", " "), "status": "active",
                                         "origin": "registry", "entities": [], "contradicts": []}
                                        for i, k in enumerate(NARRATIVES)])
        c.execute(insert(m.NarrativeStatement), [{"id": i + 1, "narrative_id": i + 1, "kind": "assertion",
                                                  "text": f"statement {k}"} for i, k in enumerate(NARRATIVES)])
    sid = 0
    batch = 2000
    for lo in range(0, n_docs, batch):
        docs, sents, quotes, mentions, matches = [], [], [], [], []
        for d in range(lo + 1, min(n_docs, lo + batch) + 1):
            parts, spans, pos = [], [], 0
            for k in range(SENTENCES):
                s = _sentence(rng, d * SENTENCES + k)
                spans.append((pos, pos + len(s)))
                parts.append(s)
                pos += len(s) + 1
            text = " ".join(parts)
            src = 1 + d % 30
            docs.append({"id": d, "source_id": src, "origin": f"bench/{d}.html", "url": f"https://o{src}.example/{d}",
                         "title": f"Report {d} on the {rng.choice(WORDS)}",
                         "published_at": t0 + timedelta(minutes=4 * d),
                         "language": ("fa", "en")[src % 2], "content_type": "html", "text": text,
                         "raw_hash": f"{d:064x}", "clean_hash": f"{d:064x}", "ingested_at": now})
            for k, (a, b) in enumerate(spans):
                sid += 1
                sents.append({"id": sid, "document_id": d, "idx": k, "start": a, "end": b,
                              "language": docs[-1]["language"]})
                if k == 2 and d % 4 == 0:
                    matches.append({"sentence_id": sid, "narrative_id": 1 + d % 3, "similarity": 0.9,
                                    "sim_assertion": 0.9, "stance": ("asserts", "denies")[d % 7 == 0],
                                    "stance_score": 0.8, "statement_id": 1 + d % 3, "embed_model": "bench",
                                    "run_at": now})
            a, b = spans[1]
            quotes.append({"document_id": d, "sentence_id": sid - SENTENCES + 2, "start": a + 4, "end": b - 1,
                           "kind": "direct", "cue_start": a, "cue_end": a + 3, "resolution": "named",
                           "entity_id": 1 + d % 200, "speaker_key": f"entity:person-{1 + d % 200}",
                           "speaker_name": f"Person {1 + d % 200}", "confidence": 1.0})
            mentions.append({"document_id": d, "start": 4, "end": 11, "label": "ORG", "method": "ner"})
        with ws.engine.begin() as c:
            c.execute(insert(m.Document), docs)
            c.execute(insert(m.Sentence), sents)
            c.execute(insert(m.Quote), quotes)
            c.execute(insert(m.Mention), mentions)
            if matches:
                c.execute(insert(m.NarrativeMatch), matches)
    n_contra = max(10, n_docs // 50)
    with ws.engine.begin() as c:
        c.execute(insert(m.Contradiction), [
            {"actor_id": 1 + i % 3, "sentence_a_id": 3 + SENTENCES * i, "sentence_b_id": 3 + SENTENCES * (i + 1),
             "kind": "narratives", "narrative_a_id": 1, "narrative_b_id": 2, "score": rng.random(),
             "cross_audience": i % 2 == 0, "run_at": now} for i in range(n_contra)])
        groups = max(5, n_docs // 200)
        c.execute(insert(m.CoordinationGroup), [
            {"id": g + 1, "method": "near-duplicate", "window_seconds": 3600.0, "first_document_id": 1 + g * 10,
             "started_at": t0 + timedelta(minutes=40 * g), "span_seconds": 600.0, "n_documents": 4, "n_sources": 4,
             "run_at": now} for g in range(groups)])
        c.execute(insert(m.CoordinationMember), [
            {"group_id": g + 1, "document_id": 1 + g * 10 + j, "source_id": 1 + (1 + g * 10 + j) % 30,
             "published_at": t0 + timedelta(minutes=4 * (1 + g * 10 + j)), "similarity": 0.8}
            for g in range(groups) for j in range(4)])
    ws.close()


def workspace(n_docs: int, cache: Path) -> tuple[Path, float | None]:
    path = cache / f"ws-{n_docs}-v{LAYOUT}.db"
    if path.exists() and Path(str(path) + ".ok").exists():
        return path, None
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    t = time.perf_counter()
    build(path, n_docs)
    Path(str(path) + ".ok").write_text("built\n")
    return path, time.perf_counter() - t


def endpoints(has_dashboard: bool, n_docs: int) -> list[tuple[str, str]]:
    mid = n_docs // 2
    eps = [("sources", "/api/sources"),
           ("documents (page 1, 100)", "/api/documents?limit=100"),
           ("documents source filter", "/api/documents?source=src-07&limit=100"),
           ("documents deep offset", f"/api/documents?limit=100&offset={max(0, n_docs - 200)}"),
           ("document + spans", f"/api/documents/{mid}"),
           ("sentences (100)", "/api/sentences?limit=100"),
           ("search full text", "/api/search?q=tribunal%20shipyard&limit=20"),
           ("narratives", "/api/narratives"),
           ("narrative matches (200)", "/api/narratives/foreign-hand/matches?limit=200"),
           ("narrative prevalence", "/api/narratives/foreign-hand/prevalence?period=week&by=audience"),
           ("contradictions (100)", "/api/contradictions?limit=100"),
           ("quotes by speaker (200)", "/api/quotes?speaker=person-7&limit=200"),
           ("speakers (all quotes)", "/api/speakers?limit=50"),
           ("coordination (100)", "/api/coordination?limit=100"),
           ("stats", "/api/stats")]
    if has_dashboard:
        eps += [("page /", "/"), ("page /narratives/{key}", "/narratives/foreign-hand"),
                ("page /contradictions", "/contradictions")]
    return eps


def direct(ws, name: str, n_docs: int):
    """The Workspace call behind endpoint ``name`` (as in ``endpoints``), without HTTP: the
    baseline that the HTTP + JSON overhead is measured against. None for a dashboard page."""
    calls = {
        "sources": lambda: ws.sources(),
        "documents (page 1, 100)": lambda: ws.documents(limit=100),
        "documents source filter": lambda: ws.documents(source="src-07", limit=100),
        "documents deep offset": lambda: ws.documents(limit=100, offset=max(0, n_docs - 200)),
        "document + spans": lambda: ws.document(n_docs // 2),
        "sentences (100)": lambda: ws.sentences(limit=100),
        "search full text": lambda: ws.search("tribunal shipyard", limit=20),
        "narratives": lambda: ws.narratives(),
        "narrative matches (200)": lambda: ws.matches("foreign-hand", limit=200),
        "narrative prevalence": lambda: ws.prevalence(narrative="foreign-hand", period="week", by="audience"),
        "contradictions (100)": lambda: ws.contradictions(limit=100),
        "quotes by speaker (200)": lambda: ws.quotes(speaker="person-7", limit=200),
        "speakers (all quotes)": lambda: ws.speakers(limit=50),
        "coordination (100)": lambda: ws.coordination(limit=100),
        "stats": lambda: ws.stats(),
    }
    return calls.get(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``narratrace serve`` without its access log: one process, or ``workers`` forked ones
    (serve/workers.py, as ``--workers``); ``cache=False`` turns the read cache off, so that a
    repeated request measures its queries and not the cache."""

    def __init__(self, path: Path, workers: int = 1, cache: bool = True) -> None:
        self.port = _free_port()
        options = f"host='127.0.0.1', port={self.port}, log_level='warning', access_log=False"
        if workers == 1:
            code = ("import uvicorn; from narratrace.serve.app import create_app; "
                    f"uvicorn.run(create_app({str(path)!r}), {options})")
        else:
            code = ("import sys; from narratrace.serve.app import create_app; "
                    "from narratrace.serve.workers import serve_forked; "
                    f"sys.exit(serve_forked(lambda: create_app({str(path)!r}, workers={workers}), "
                    f"workers={workers}, {options}))")
        env = {**os.environ, **({} if cache else {"NARRATRACE_READ_CACHE_MB": "0"})}
        self.proc = subprocess.Popen([sys.executable, "-c", code], env=env)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait(self) -> None:
        import httpx

        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(self.base + "/api/sources", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the server did not answer within 60 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.I)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[ \t]*chunked", re.I)


class Reader:
    """One client's keep-alive HTTP/1.1 connection for GETs, on bare asyncio streams. The load
    generator must cost less than the server it loads: httpx spent ~3.7 ms of CPU per request,
    87 % of a core at 236 reads/s (2026-12-02), so on two cores the bench was measuring itself.
    This one reads the status, the headers and the whole body (Content-Length or chunked)."""

    def __init__(self, base: str) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)

    async def __aenter__(self) -> Reader:
        self.r, self.w = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *exc) -> None:
        self.w.close()

    async def get(self, path: str) -> int:
        self.w.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        head = await self.r.readuntil(b"\r\n\r\n")
        m = _LENGTH.search(head)
        if m:
            await self.r.readexactly(int(m.group(1)))
        elif _CHUNKED.search(head):
            while size := int((await self.r.readuntil(b"\r\n")).split(b";")[0], 16):
                await self.r.readexactly(size + 2)
            await self.r.readuntil(b"\r\n")
        return int(head[9:12])


async def load(base: str, url: str, n: int, clients: int, seconds: float) -> dict:
    lat: list[float] = []
    errors = 0
    todo = iter(range(n))

    async def worker():
        nonlocal errors
        async with Reader(base) as client:
            for _ in todo:
                if time.perf_counter() > stop_at:
                    return
                t = time.perf_counter()
                status = await client.get(url)
                lat.append(time.perf_counter() - t)
                errors += status != 200

    async with Reader(base) as warm:
        await warm.get(url)  # warm: first-use imports and caches are not latency
    stop_at = time.perf_counter() + seconds
    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    wall = time.perf_counter() - t
    lat.sort()
    return {"n": len(lat), "p50": _pct(lat, 50), "p99": _pct(lat, 99), "rps": len(lat) / wall, "errors": errors}


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000


def run_endpoints(path: Path, eps, args, clients: int, requests: int) -> dict[str, dict]:
    server = Server(path, args.workers, cache=False)  # what grows with size: the queries, uncached
    try:
        server.wait()
        return {name: asyncio.run(load(server.base, url, requests, clients, args.seconds)) for name, url in eps}
    finally:
        server.stop()


def run_direct(path: Path, eps, reps: int, n_docs: int) -> dict[str, float]:
    from narratrace.workspace import Workspace

    ws = Workspace(path, create=False)
    out = {}
    for name, _ in eps:
        call = direct(ws, name, n_docs)
        if call is None:
            continue
        call()  # warm, as the HTTP runs are
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            call()
            times.append(time.perf_counter() - t)
        out[name] = statistics.median(times) * 1000
    ws.close()
    return out


MIXED_READS = [("documents", "/api/documents?limit=50"), ("narratives", "/api/narratives"),
               ("contradictions", "/api/contradictions?limit=50"), ("search", "/api/search?q=front&limit=20"),
               ("stats", "/api/stats"), ("quotes", "/api/quotes?limit=50")]


async def mixed(base: str, readers: int, seconds: float, write: bool) -> dict:
    """``readers`` clients cycling through MIXED_READS for ``seconds``, with (``write``) one client
    uploading one new small document after another to POST /api/ingest meanwhile."""
    import httpx

    lat: list[float] = []
    wlat: list[float] = []
    errors = {"read": 0, "write": 0}
    uploaded = 0

    per: dict[str, list[float]] = {name: [] for name, _ in MIXED_READS}

    async def reader(k: int):
        i = k
        async with Reader(base) as client:
            while time.perf_counter() < stop_at:
                name, url = MIXED_READS[i % len(MIXED_READS)]
                t = time.perf_counter()
                status = await client.get(url)
                lat.append(time.perf_counter() - t)
                per[name].append(lat[-1])
                errors["read"] += status != 200
                i += 1

    def upload(client, n: int):
        body = (f"Bulletin {n} from the Lennox harbour office.\n\nThe harbour master of Veltria said on day "
                f"{n} that {n * 7 % 13} ferries crossed and the market stayed open for traders.").encode()
        return client.post("/api/ingest", files={"files": (f"bulletin-{n}.txt", body, "text/plain")},
                           headers={"X-Narratrace": "1"})

    async def writer(client):
        nonlocal uploaded
        n = 0
        while time.perf_counter() < stop_at:
            n += 1
            t = time.perf_counter()
            r = await upload(client, n)
            wlat.append(time.perf_counter() - t)
            if r.status_code == 200 and r.json().get("added") == 1:
                uploaded += 1
            else:
                errors["write"] += 1

    async with httpx.AsyncClient(base_url=base, timeout=120) as client:  # the writer's (multipart)
        for _, url in MIXED_READS:
            await client.get(url)  # warm
        if write:  # warm: the first upload starts the server's extraction pool (~4 s), once per process
            await upload(client, 0)
        stop_at = time.perf_counter() + seconds
        before = (await client.get("/api/stats")).json()["documents"]
        tasks = [reader(k) for k in range(readers)] + ([writer(client)] if write else [])
        await asyncio.gather(*tasks)
        after = (await client.get("/api/stats")).json()["documents"]
    lat.sort()
    wlat.sort()
    return {"reads": len(lat), "p50": _pct(lat, 50), "p99": _pct(lat, 99), "read_errors": errors["read"],
            "writes": len(wlat), "write_p50": _pct(wlat, 50), "write_errors": errors["write"],
            "uploaded": uploaded, "stored": after - before, "lost": uploaded - (after - before),
            "per_endpoint_p99": {name: _pct(sorted(xs), 99) for name, xs in per.items()}}


def run_mixed(path: Path, readers: int, seconds: float, workers: int = 1) -> int:
    """A copy of ``path`` served on loopback: reads alone (the baseline), then reads while one
    client ingests. Pass: read p99 < 200 ms with the writer, 0 errors, 0 lost writes."""
    import shutil

    tmp = Path(tempfile.mkdtemp(prefix="narratrace-mixed-"))
    copy = tmp / path.name
    shutil.copy(path, copy)
    if Path(str(path) + ".vectors").exists():
        shutil.copytree(str(path) + ".vectors", str(copy) + ".vectors")
    server = Server(copy, workers)
    try:
        server.wait()
        quiet = asyncio.run(mixed(server.base, readers, seconds, write=False))
        busy = asyncio.run(mixed(server.base, readers, seconds, write=True))
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n| {readers} readers, {seconds:.0f} s, {workers} server process(es) | reads | p50 ms | p99 ms "
          "| read errors | uploads | upload p50 ms | upload errors | stored | lost |")
    print("|---" * 10 + "|")
    for name, r in (("reads alone (baseline)", quiet), ("reads + one client ingesting", busy)):
        print(f"| {name} | {r['reads']} | {r['p50']:.0f} | {r['p99']:.0f} | {r['read_errors']} | {r['writes']} | "
              f"{r['write_p50']:.0f} | {r['write_errors']} | {r['stored']} | {r['lost']} |")
    print(f"p99 with the writer / alone: {busy['p99'] / quiet['p99']:.2f}x")
    print("p99 ms per endpoint (alone / with the writer): " + ", ".join(
        f"{k} {quiet['per_endpoint_p99'][k]:.0f} / {busy['per_endpoint_p99'][k]:.0f}" for k in quiet["per_endpoint_p99"]))
    ok = busy["p99"] < 200 and not (busy["read_errors"] or busy["write_errors"] or busy["lost"])
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="5,000 documents, 40 requests per endpoint")
    ap.add_argument("--requests", type=int, default=200, help="per endpoint")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=15.0, help="at most this long per endpoint")
    ap.add_argument("--workers", type=int, default=1, help="server processes (narratrace serve --workers)")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "narratrace-bench-serve"))
    ap.add_argument("--mixed", metavar="WORKSPACE",
                    help="instead: reads while one client ingests, on a copy of this workspace (e.g. the demo's)")
    args = ap.parse_args(argv)
    if args.mixed:
        return run_mixed(Path(args.mixed), args.clients, args.seconds, args.workers)
    if args.quick:
        args.docs, args.requests = 5000, 40
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    import importlib.util

    has_dashboard = importlib.util.find_spec("narratrace.serve.dashboard") is not None
    print(f"machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores; "
          f"{args.clients} clients, {args.requests} requests per endpoint (at most {args.seconds:.0f} s)")
    big, built = workspace(args.docs, cache)
    small, _ = workspace(1000, cache)
    mb = big.stat().st_size / 2**20
    print(f"workspace: {args.docs:,} documents, {args.docs * SENTENCES:,} sentences, {mb:,.0f} MB "
          + (f"(bulk-built in {built:.0f} s)" if built else "(cached)") + f" — {big}")
    eps = endpoints(has_dashboard, args.docs)
    small_eps = endpoints(has_dashboard, 1000)
    res_big = run_endpoints(big, eps, args, args.clients, args.requests)
    res_seq = run_endpoints(big, eps, args, 1, max(10, args.requests // 8))
    res_small = run_endpoints(small, small_eps, args, args.clients, args.requests)
    base = run_direct(big, eps, reps=5, n_docs=args.docs)
    print("\n| endpoint | p50 ms | p99 ms | req/s | 1 client p50 ms | in-process call ms | HTTP overhead "
          "(1 client − in-process) ms | 1k docs: p50 ms | errors |")
    print("|---" * 9 + "|")
    for name, _ in eps:
        r, q, s = res_big[name], res_seq[name], res_small[name]
        d = base.get(name)
        over = f"{q['p50'] - d:.1f}" if d is not None else "–"
        print(f"| {name} | {r['p50']:.0f} | {r['p99']:.0f} | {r['rps']:.1f} | {q['p50']:.1f} | "
              f"{f'{d:.1f}' if d is not None else '–'} | {over} | {s['p50']:.0f} | {r['errors'] + q['errors']} |")
    bad = sum(r["errors"] for res in (res_big, res_seq, res_small) for r in res.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
