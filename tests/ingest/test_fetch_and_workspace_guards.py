"""Smaller holes of issue 15: IPv6 forms that embed a private IPv4 address, a fetch's overall
deadline, and a foreign or damaged SQLite file given as the workspace (refused untouched)."""

from __future__ import annotations

import hashlib
import sqlite3
import time

import httpx
import pytest

from narratrace import Workspace
from narratrace.ingest.items import InputError
from narratrace.ingest.web import Fetcher, check_url
from narratrace.store.db import NotAWorkspace

PUBLIC_IP = "93.184.216.34"


@pytest.mark.parametrize("addr", [
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",  # NAT64 (RFC 6052) of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of the cloud metadata address
    "64:ff9b:1::a00:1",  # NAT64 local-use prefix (RFC 8215) of 10.0.0.1
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
])
def test_ipv6_forms_of_private_ipv4_are_refused(addr):
    with pytest.raises(InputError, match="non-public address"):
        check_url(f"http://[{addr}]/")
    with pytest.raises(InputError, match="non-public address"):  # and when a name resolves to it
        check_url("http://innocent.example/", resolver=lambda h: [addr])


@pytest.mark.parametrize("addr", ["2002:5db8:d822::1", "2606:4700::1111", PUBLIC_IP])
def test_public_addresses_still_pass(addr):
    check_url("http://news.example/", resolver=lambda h: [addr])


def test_a_dripping_server_is_cut_at_the_deadline():
    def drip():
        for _ in range(100):
            time.sleep(0.1)
            yield b"x"

    def handler(request):
        return httpx.Response(200, headers={"content-type": "text/html"}, content=drip())

    fetcher = Fetcher(client=httpx.Client(transport=httpx.MockTransport(handler)),
                      resolver=lambda h: [PUBLIC_IP], seconds=0.5)
    t0 = time.monotonic()
    with pytest.raises(InputError, match="NARRATRACE_FETCH_SECONDS"):
        fetcher.get("http://slow.example/page")
    assert time.monotonic() - t0 < 3


def test_fetch_deadline_is_a_setting(monkeypatch):
    monkeypatch.setenv("NARRATRACE_FETCH_SECONDS", "7")
    assert Fetcher(resolver=lambda h: [PUBLIC_IP]).seconds == 7


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_foreign_sqlite_file_is_refused_untouched(tmp_path):
    f = tmp_path / "contacts.db"
    con = sqlite3.connect(f)
    con.execute("CREATE TABLE contact (name TEXT, phone TEXT)")
    con.execute("INSERT INTO contact VALUES ('Vell Aster', '555-0100')")
    con.commit()
    con.close()
    before = _digest(f)
    with pytest.raises(NotAWorkspace, match="another program's SQLite database.*contact") as err:
        Workspace(f)
    assert "\n" not in str(err.value)
    assert _digest(f) == before
    assert not (tmp_path / "contacts.db-wal").exists()
    with sqlite3.connect(f) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL


@pytest.mark.parametrize("content", [b"not a database at all\n" * 50, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_non_sqlite_or_damaged_file_is_refused_in_one_line(tmp_path, content):
    f = tmp_path / "ws.db"
    f.write_bytes(content)
    with pytest.raises(NotAWorkspace) as err:
        Workspace(f)
    assert "\n" not in str(err.value) and str(f) in str(err.value)
    assert f.read_bytes() == content


def test_empty_file_and_real_workspace_open(tmp_path):
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    Workspace(empty).close()  # an empty file is a new workspace
    ws = Workspace(tmp_path / "real.db", create=True)
    ws.close()
    Workspace(tmp_path / "real.db").close()
