"""The local edge's access log over HTTP: one JSON line per request, hits included."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from origin_handler.local.edge import Edge
from origin_handler.local.server import make_server
from origin_handler.origin.handler import Origin
from origin_handler.origin.storage import LocalStore
from origin_handler.policy import load_policy
from origin_handler.settings import Settings
from tests.conftest import SAMPLES


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    shutil.copy(SAMPLES / "portrait-orientation-6.jpg", tmp_path / "portrait.jpg")
    store = LocalStore(tmp_path, tmp_path / "derived")
    server = make_server(Edge(Origin(Settings(), store, load_policy())), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_every_request_leaves_one_edge_line_with_its_cache_state(base: str, caplog):
    caplog.set_level(logging.INFO, logger="image_origin")
    url = f"{base}/portrait.jpg?w=256&format=webp"
    miss = requests.get(url, timeout=30)
    hit = requests.get(url, timeout=30)
    head = requests.head(url, timeout=30)
    not_modified = requests.get(url, headers={"If-None-Match": miss.headers["ETag"]}, timeout=30)
    refused = requests.get(f"{base}/portrait.jpg?w=abc", timeout=30)

    lines = [json.loads(r.getMessage()) for r in caplog.records]
    edge = [line for line in lines if line.get("source") == "edge"]
    assert [(e["cache"], e["status"], e["method"]) for e in edge] == [
        ("miss", 200, "GET"),
        ("hit", 200, "GET"),
        ("hit", 200, "HEAD"),
        ("hit", 304, "GET"),
        ("error", 400, "GET"),
    ]
    sent = [len(miss.content), len(hit.content), 0, 0, len(refused.content)]
    assert [e["bytes"] for e in edge] == sent
    assert refused.status_code == 400 and not_modified.status_code == 304 and head.ok
    assert all(e["path"] == "/portrait.jpg" and e["ms"] >= 0 for e in edge)
    assert {e.get("uri") for e in edge[:4]} == {"/portrait.jpg/w=256,q=75,f=webp"}
    assert edge[-1]["error_code"] == "bad_request"
    # The miss also reached the origin function, which wrote its own line.
    assert [line["source"] for line in lines if line.get("source") != "edge"] == ["rendered"]
