from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEMO_DATA = REPO / "src" / "narratrace" / "demo" / "data"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with a clear message when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is not here (published evaluation data lives beside the repo in ../shared)")
    return p


@pytest.fixture
def ws(tmp_path):
    from narratrace import Workspace

    w = Workspace(tmp_path / "ws.db")
    yield w
    w.close()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    """No workspace from the environment, and no network: a socket to anything but
    loopback fails the test loudly instead of silently depending on the internet."""
    import socket

    monkeypatch.delenv("NARRATRACE_WORKSPACE", raising=False)
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"test tried to reach the network: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode(encoding)
    path.write_bytes(content)
    return path


def article_html(title: str, paragraphs: list[str], *, url: str | None = None, published: str | None = None,
                 lang: str = "en", footer: str = "Share on Facebook | Tweet | Print") -> str:
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    canon = f'<link rel="canonical" href="{url}">' if url else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>{meta}{canon}'
            f'</head><body><nav><a href="/">Home</a> <a href="/world">World</a></nav>'
            f'<article><h1>{title}</h1>{body}</article><div class="share">{footer}</div>'
            f'<footer>© 2026 Example Media. All rights reserved.</footer></body></html>')
