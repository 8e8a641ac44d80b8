"""What the console's browser tests share: ports, token digests, waiting for a server, and
SCIM requests as an IdP sends them."""

import hashlib
import json
import os
import socket
import time
import urllib.request
from pathlib import Path

BIN = os.environ.get("TABLEAU_SCIM_BIN", "target/debug/tableau-scim")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CONSOLE_ARTIFACTS", "ci-artifacts/console"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha(token):
    return hashlib.sha256(token.encode()).hexdigest()


def wait_for(url, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def scim(base, token, method, path, body=None):
    req = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read()
        return json.loads(text) if text else None
