"""`make run` as a new user meets it: `iocfeed demo` sets up, prints a key, serves; the seed's curl works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from iocfeed.demo import load_manifest
from tests.api.test_rate_limits import _free_port


def test_demo_manifest_covers_every_type_category_and_several_sectors():
    feeds = load_manifest()
    assert {f.spec.category for f in feeds} == {"government", "commercial", "community"}
    assert all(f.path.exists() for f in feeds)


def test_make_run_then_the_seed_example(tmp_path):
    port = _free_port()
    env = {**os.environ, "IOCFEED_HOME": str(tmp_path / "home")}
    env.pop("IOCFEED_DATABASE_URL", None)
    env.pop("IOCFEED_REDIS_URL", None)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "iocfeed"), "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        key, lines = None, []
        deadline = time.time() + 60
        while key is None and time.time() < deadline:
            line = server.stdout.readline()  # type: ignore[union-attr]
            if not line and server.poll() is not None:
                raise AssertionError("demo exited:\n" + "".join(lines))
            lines.append(line)
            match = re.fullmatch(r"(sk_live_[A-Za-z0-9_-]{32,})\s*", line)
            if match:
                key = match.group(1)
        assert key, "".join(lines)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        # The seed's example, word for word but for host and key.
        response = httpx.get(
            f"{base}/api/v1/iocs?type=ipv4&confidence=high&limit=100",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["meta"]["total"] > 0 and body["meta"]["limit"] == 100 and body["meta"]["offset"] == 0
        for record in body["data"]:
            assert record["type"] == "ipv4" and record["confidence"] == "high"
            assert record["source"]["feed_name"] and record["source"]["category"] in (
                "government",
                "commercial",
                "community",
            )
        everything = httpx.get(
            f"{base}/api/v1/iocs?limit=10000&status=all", headers={"X-API-Key": key}
        ).json()
        types = {r["type"] for r in everything["data"]}
        assert types == {
            "ipv4",
            "ipv6",
            "domain",
            "url",
            "md5",
            "sha1",
            "sha256",
            "sha512",
            "cve",
            "mitre-attack",
            "email",
        }
        assert len(everything["data"]) >= 200
        assert len({s for r in everything["data"] for s in r["industries"]}) >= 4
        assert any(r["source_count"] > 1 for r in everything["data"])
        feeds = httpx.get(f"{base}/api/v1/feeds", headers={"X-API-Key": key}).json()["data"]
        assert {f["category"] for f in feeds} == {"government", "commercial", "community"}
    finally:
        server.terminate()
        server.wait(timeout=20)
