"""A real ``mlflow server`` on a test's store, read through its REST API as the UI reads it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def mlflow_server(tracking_uri: str, log: Path, timeout: float = 90.0) -> Iterator[str]:
    """``mlflow server`` on ``tracking_uri`` (one worker, a free local port); yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log, "w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", tracking_uri,
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=2):
                        break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"mlflow server did not start: {log.read_text()}") \
                            from None
                    time.sleep(0.3)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def rest(url: str, endpoint: str, body: dict | None = None, **query: str) -> dict:
    """GET (``query``) or POST (``body``) ``/api/2.0/mlflow/<endpoint>``; the decoded JSON."""
    address = f"{url}/api/2.0/mlflow/{endpoint}"
    if query:
        address += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(address, data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())
