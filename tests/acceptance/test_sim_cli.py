"""``zapgate sim ...`` as an operator runs it: a simulator process and a ``zapgate serve``
process talking over loopback, driven through the public API (the README's walkthrough)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from tests.acceptance.conftest import ZAPGATE, ServeProcess
from tests.conftest import wait_until


def test_sim_refuses_non_loopback_hosts() -> None:
    result = subprocess.run(
        [ZAPGATE, "sim", "meta", "--port", "1", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "loopback" in result.stderr


def test_evolution_go_walkthrough_with_both_processes(serve_env, cli, sim_process, tmp_path: Path) -> None:
    sim = sim_process("evolution-go", "--api-key", "go-key")
    server = ServeProcess(
        {
            **serve_env,
            "ZAPGATE_EVOLUTION_GO_URL": sim,
            "ZAPGATE_EVOLUTION_GO_API_KEY": "go-key",
            "ZAPGATE_EVOLUTION_PACE_PER_SECOND": "20",
        },
        tmp_path / "serve.log",
    )
    server.env["ZAPGATE_PUBLIC_URL"] = server.url
    server.start()
    try:
        tenant = json.loads(
            cli(serve_env, "admin", "create-tenant", "--name", "Acme", "--plan", "PAID", "--json")
        )
        http = httpx.Client(base_url=server.url, timeout=30)
        created = http.post(
            "/v1/numbers",
            headers={"x-api-key": tenant["tenantKey"]},
            json={"name": "Loja", "number": "+5511999990000", "provider": "evolution-go"},
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["qrcodeBase64"].startswith("data:image/png;base64,")
        number_id, key = body["instance"]["id"], body["apiKey"]["key"]
        httpx.post(f"{sim}/_sim/instances/zapgate-{number_id}/pair", json={}).raise_for_status()
        wait_until(
            lambda: (
                http.get(f"/v1/numbers/{number_id}", headers={"x-api-key": key}).json()["state"] == "OPEN"
            ),
            timeout=15,
        )
        sent = http.post(
            "/v1/messages/send",
            headers={"x-api-key": key},
            json={"destinationNumber": "+5511988887777", "text": "Olá!"},
        )
        assert sent.status_code == 202, sent.text
        message_id = sent.json()["id"]
        wait_until(
            lambda: (
                http.get(f"/v1/messages/{message_id}", headers={"x-api-key": key}).json()["status"] == "READ"
            ),
            timeout=15,
        )
        requests = httpx.get(f"{sim}/_sim/requests", params={"path": "/send/text"}).json()
        assert requests[-1]["json"]["text"] == "Olá!"
        http.close()
    finally:
        server.stop()
