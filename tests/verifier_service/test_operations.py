"""Operations: HEAD answers wherever GET does (load balancers probe /healthz with it), and a proxy setting that
trusts every peer is logged as the hazard it is."""

from __future__ import annotations

import logging
import signal
import socket

import pytest

from tests.verifier_service.conftest import admin_headers
from tests.verifier_service.servers import start
from zkmargin.verifier_service.settings import Settings, trusts_every_peer


def test_head_healthz_answers_200_with_the_get_headers_and_no_body(client):
    got, head = client.get("/healthz"), client.head("/healthz")
    assert head.status_code == 200
    assert head.content == b""
    # The headers a GET would carry, Content-Length included (RFC 9110 9.3.2), and the security headers.
    assert head.headers["content-length"] == got.headers["content-length"] == str(len(got.content))
    assert head.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/v1/circuits", "/v1/receipts/abc", "/v1/circuits/nope"])
def test_head_answers_as_get_does_wherever_allow_names_it(client, path):
    got, head = client.get(path, headers=admin_headers()), client.head(path, headers=admin_headers())
    assert (head.status_code, head.content) == (got.status_code, b"")
    assert "HEAD" in client.put(path).headers["allow"].split(", ")


def test_head_where_no_get_is_served_is_405_naming_the_allowed_methods(client):
    head = client.head("/v1/verify")
    assert (head.status_code, head.headers["allow"], head.content) == (405, "POST", b"")


def test_head_healthz_on_a_real_server_sends_no_body(tmp_path):
    """Over the service's own HTTP protocol: the status line and headers, then the next response on the same
    connection (a body sent after a HEAD answer would be read as the start of that response)."""
    server = start(f"sqlite:///{tmp_path}/head.db", 0, env={"ZKMARGIN_TRUSTED_PROXIES": "*"})
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.settimeout(30)
            sock.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            received = b""
            while received.count(b"HTTP/1.1 200") < 2 or not received.endswith(b'{"status":"ok"}'):
                chunk = sock.recv(65536)
                assert chunk, received
                received += chunk
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    head, get = received.split(b"HTTP/1.1 200", 2)[1:]
    assert head.endswith(b"\r\n\r\n") and b'"status"' not in head
    assert b"content-length: 15" in head.lower() and get.endswith(b'{"status":"ok"}')
    # The hazard of ZKMARGIN_TRUSTED_PROXIES="*" is in the server's log.
    assert "ZKMARGIN_TRUSTED_PROXIES='*' believes X-Forwarded-For from every peer" in server.stderr_text()


@pytest.mark.parametrize(("value", "hazard"), [
    ("*", True), (" * ", True), ("0.0.0.0/0", True), ("10.0.0.5, ::/0", True),
    ("", False), ("10.0.0.5", False), ("192.0.2.7, 127.0.0.0/8", False), ("/run/proxy.sock", False),
])
def test_trusting_every_peer_is_logged_as_a_hazard(value, hazard, caplog):
    with caplog.at_level(logging.WARNING, logger="zkmargin.verifier_service"):
        settings = Settings(trusted_proxies=value)
    assert trusts_every_peer(value) is hazard
    warned = [r for r in caplog.records if "ZKMARGIN_TRUSTED_PROXIES" in r.getMessage()]
    assert len(warned) == (1 if hazard else 0)
    # uvicorn trusts every peer only for exactly "*": the setting is stripped so " * " means what it says.
    assert settings.trusted_proxies == value.strip()
