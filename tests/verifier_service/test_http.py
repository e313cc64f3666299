"""The HTTP layer in front of the service under hostile traffic, on real servers on loopback: bounded
and timed request heads, a connection cap, security headers, JSON for what the server refuses itself."""

from __future__ import annotations

import json
import re
import resource
import socket
import sys
import time

import httpx
import pytest

from tests.verifier_service.conftest import ADMIN, admin_headers, signed_snapshot
from tests.verifier_service.servers import start

SECURITY = {"x-content-type-options": "nosniff", "x-frame-options": "DENY"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real server (SQLite, default settings) for the tests that do not change settings."""
    process = start(f"sqlite:///{tmp_path_factory.mktemp('http')}/http.db")
    yield f"http://127.0.0.1:{process.port}", process.port
    process.kill()
    process.wait()


def exchange(port: int, request: bytes, wait_s: float = 30) -> bytes:
    """Send request on a fresh connection and read until the server closes it (wait_s is a hang guard)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(wait_s)
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            pytest.fail(f"the server kept the connection open; received {received[:200]!r}")
        return received


def parse(response: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one raw HTTP/1.1 response."""
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split(" ")[1]), headers, body


def json_error(response: bytes, status: int) -> dict:
    """The error of a raw response that must be status with the service's JSON envelope."""
    code, headers, body = parse(response)
    assert code == status, response[:300]
    assert headers["content-type"] == "application/json", headers
    assert set(json.loads(body)) == {"error"}
    return json.loads(body)["error"]


# --- 1. request heads are bounded ---------------------------------------------------------------

def test_oversized_heads_are_refused_with_431(server):
    _, port = server
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n"
    assert json_error(exchange(port, big), 431)["code"] == "header_too_large"
    many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(500)) + b"\r\n"
    assert json_error(exchange(port, many), 431)["code"] == "too_many_headers"
    # Within the limits, the same request is served.
    assert parse(exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\r\nConnection: close\r\n\r\n"))[0] == 200


def test_a_huge_unterminated_head_is_cut_off(server):
    """The server stops reading a head at its limit and closes: the client cannot deliver 64 MiB into it
    (the old server read, buffered and re-joined all of it: 200 MiB raised its RSS by 350 MB)."""
    base, port = server
    cut_off = False
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(30)  # a hang guard: a server that reads everything never resets the connection
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        try:
            for _ in range(64):
                sock.sendall(b"a" * (1 << 20))
        except (ConnectionResetError, BrokenPipeError):
            cut_off = True
        except TimeoutError:
            pass
    assert cut_off
    assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200


def padded_head(size: int) -> bytes:
    """A GET /healthz head (unterminated) with at least size bytes of headers."""
    lines = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    while len(lines) < size:
        lines += b"X-P: " + b"a" * 4000 + b"\r\n"
    return lines


def head_of(size: int) -> bytes:
    """A complete GET /healthz head of exactly size bytes, its header lines written without spaces."""
    head = b"GET /healthz HTTP/1.1\r\nHost:x\r\nConnection:close\r\n" + b"".join(b"X-%d:v\r\n" % i for i in range(90))
    return head + b"X-Pad:" + b"a" * (size - len(head) - len(b"X-Pad:\r\n\r\n")) + b"\r\n\r\n"


@pytest.mark.parametrize("packet", [1 << 20, 64, 7], ids=["one-packet", "64-byte-packets", "7-byte-packets"])
def test_a_head_of_exactly_the_limit_is_served_and_one_byte_more_is_not(server, packet):
    _, port = server
    for size, status in [(32 * 1024, 200), (32 * 1024 + 1, 431)]:
        head = head_of(size)
        assert len(head) == size
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.settimeout(30)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                for start_at in range(0, size, packet):
                    sock.sendall(head[start_at:start_at + packet])
            except (ConnectionResetError, BrokenPipeError):
                pass
            received = b""
            try:
                while chunk := sock.recv(65536):
                    received += chunk
            except ConnectionResetError:
                pass
        assert parse(received)[0] == status, (size, received[:200])


@pytest.mark.parametrize("first", [
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /v1/nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
], ids=["get", "post-with-body"])
def test_a_pipelined_head_is_bounded_from_its_own_first_byte(server, first):
    """A request that starts in the same packet as the end of the one before gets no fresh allowance:
    its bytes in that packet count (the cap was once reset after them, so a 60 KB head passed)."""
    _, port = server
    second = padded_head(60_000)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(30)
        sock.sendall(first + second[:30_000])
        time.sleep(0.3)
        try:
            sock.sendall(second[30_000:] + b"Connection: close\r\n\r\n")
        except (ConnectionResetError, BrokenPipeError):
            pass
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    statuses = re.findall(rb"HTTP/1\.1 (\d+)", received)
    assert statuses[-1] == b"431", statuses


def test_pipelined_requests_larger_together_than_one_head_are_all_answered(server):
    """The head limit is per request: 120 small pipelined requests in one packet (41 KB) are all served."""
    _, port = server
    one = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"b" * 300 + b"\r\n\r\n"
    received = exchange(port, one * 120 + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert re.findall(rb"HTTP/1\.1 (\d+)", received) == [b"200"] * 121


def test_trailers_of_a_chunked_body_count_against_the_head_limit(server):
    """Trailers are header lines after the body: bounded like the head, refused with a JSON 431 (they were
    once not counted at all past the head, so 100 trailer lines could each be of any size)."""
    _, port = server
    trailers = b"".join(b"X-T%d: %s\r\n" % (i, b"z" * 1000) for i in range(40))
    request = (b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Content-Type: application/json\r\n\r\n2\r\n{}\r\n0\r\n" + trailers + b"\r\n")
    assert json_error(exchange(port, request), 431)["code"] == "header_too_large"


@pytest.mark.parametrize("framing", [b"Transfer-Encoding: chunked", b"Content-Length: 1000000000"])
def test_a_refused_body_closes_the_connection(server, framing):
    """After a 413 the server stops reading: a client that keeps sending its body is cut off (the
    connection once stayed open, every packet read and dropped, for as long as the client sent)."""
    _, port = server
    block = b"a" * 16384
    piece = b"4000\r\n" + block + b"\r\n" if b"chunked" in framing else block
    received, closed = b"", False
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + framing + b"\r\n\r\n")
        sock.settimeout(0.01)
        deadline = time.monotonic() + 10  # a hang guard: the server closes within a second or so
        try:
            while time.monotonic() < deadline:
                sock.sendall(piece)
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    closed = True
                    break
                received += chunk
        except (ConnectionResetError, BrokenPipeError):
            closed = True
    assert closed
    assert json_error(received, 413)["code"] == "body_too_large"


def test_serve_with_workers_runs_the_guarded_protocol(tmp_path):
    """`zkmargin serve --workers 2` (worker processes import the protocol by name) refuses an oversized
    head with the JSON 431, as `python -m zkmargin.verifier_service` does (the module fixture's server)."""
    command = [sys.executable, "-c", "from cli.main import main; main()", "serve", "--host", "127.0.0.1", "--port",
               "0", "--workers", "2", "--database-url", f"sqlite:///{tmp_path}/w.db"]
    process = start(None, command=command)
    port = process.port
    try:
        big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n"
        for _ in range(4):
            assert json_error(exchange(port, big), 431)["code"] == "header_too_large"
    finally:
        process.terminate()
        process.wait(30)


# --- 2. header and keep-alive timeouts, the connection cap ---------------------------------------

def wait_for_close(sock: socket.socket, trickle: bytes | None = None, guard_s: float = 30) -> bytes:
    """Read (sending trickle every 0.2 s, if given) until the server closes; fails after guard_s."""
    sock.settimeout(0.2)
    received = b""
    deadline = time.monotonic() + guard_s  # a hang guard, not a bound on the server
    while time.monotonic() < deadline:
        try:
            if trickle:
                sock.sendall(trickle)
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return received
        if not chunk:
            return received
        received += chunk
    pytest.fail(f"the connection was still open after {guard_s} s")


def test_slow_heads_and_idle_connections_are_closed(tmp_path):
    process = start(f"sqlite:///{tmp_path}/t.db",
                    env={"ZKMARGIN_HEADER_TIMEOUT_S": "1", "ZKMARGIN_KEEP_ALIVE_TIMEOUT_S": "1"})
    port = process.port
    try:
        with socket.create_connection(("127.0.0.1", port)) as trickling:
            trickling.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            received = wait_for_close(trickling, trickle=b"X-A: b\r\n")
            assert json_error(received, 408)["code"] == "header_timeout"
        with socket.create_connection(("127.0.0.1", port)) as idle:
            assert wait_for_close(idle) == b""  # never sent anything: closed without a word
        with socket.create_connection(("127.0.0.1", port)) as kept:
            kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert parse(wait_for_close(kept))[0] == 200  # answered, then closed when idle
    finally:
        process.kill()
        process.wait()


def limit_descriptors() -> None:
    """In the server's process: the 1,024-descriptor limit of many deployments."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


def test_healthz_answers_while_2000_slow_connections_are_held(tmp_path):
    """More slow connections than the server has descriptors: it keeps room for new ones by closing
    the oldest that have not sent a head (the old server stopped accepting: /healthz timed out)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2300:
        if hard != resource.RLIM_INFINITY and hard < 2300:
            pytest.skip("this process may not open 2,000 connections")
        resource.setrlimit(resource.RLIMIT_NOFILE, (2300, hard))
    # Long head timeouts: the cap, not a timeout, must keep the server reachable.
    process = start(f"sqlite:///{tmp_path}/c.db", env={"ZKMARGIN_HEADER_TIMEOUT_S": "300"},
                    preexec_fn=limit_descriptors)
    port = process.port
    held: list[socket.socket] = []
    try:
        for _ in range(2000):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            except (ConnectionResetError, BrokenPipeError):
                pass  # already closed to make room
            held.append(sock)
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        assert process.poll() is None
    finally:
        for sock in held:
            sock.close()
        process.kill()
        process.wait()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_flood_of_connections_never_evicts_a_request_being_read(tmp_path):
    """Past the cap, the oldest idle or slow-head connection is closed, never one whose request is in:
    a request sending its body when 60 connections arrive is still answered."""
    process = start(f"sqlite:///{tmp_path}/e.db", env={"ZKMARGIN_MAX_CONNECTIONS": "20"})
    port = process.port
    held: list[socket.socket] = []
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as legit:
            legit.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 2\r\nConnection: close\r\n\r\n{")
            time.sleep(0.3)
            for _ in range(60):
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                held.append(sock)
            time.sleep(0.3)
            legit.sendall(b"}")
            received = b""
            while chunk := legit.recv(65536):
                received += chunk
        assert parse(received)[0] == 422  # answered: an empty object is not a verification request
    finally:
        for sock in held:
            sock.close()
        process.kill()
        process.wait()


# --- 5. security headers ------------------------------------------------------------------------

def test_every_response_carries_the_security_headers(server):
    base, port = server
    responses = [httpx.get(f"{base}{path}") for path in ("/healthz", "/v1/circuits", "/nowhere", "/openapi.json")]
    created = httpx.post(f"{base}/v1/keys", json={"role": "venue", "name": "h"}, headers=admin_headers())
    assert created.status_code == 201 and created.json()["token"]
    responses.append(created)
    for response in responses:
        for name, value in SECURITY.items():
            assert response.headers.get(name) == value, (response.url, response.headers)
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "server" not in response.headers  # no software and version announced
    assert created.headers["cache-control"] == "no-store"  # the one-time token is never cached
    # A client's own X-Forwarded-Proto is not believed (no proxy is named): no HSTS over plain HTTP.
    assert "strict-transport-security" not in httpx.get(f"{base}/healthz", headers={"X-Forwarded-Proto": "https"}).headers
    docs = httpx.get(f"{base}/docs")
    assert docs.status_code == 200 and "script-src 'self'" in docs.headers["content-security-policy"]
    _, headers, _ = parse(exchange(port, b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert {name: headers.get(name) for name in SECURITY} == SECURITY and "server" not in headers


def test_metrics_need_a_key_by_default(server):
    base, _ = server
    refused = httpx.get(f"{base}/metrics")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    allowed = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {ADMIN}"})
    assert allowed.status_code == 200 and "zkmargin_http_requests_total" in allowed.text


# --- 6. what the server refuses itself is JSON ------------------------------------------------------

@pytest.mark.parametrize("request_bytes,status", [
    (b"GET /v1/receipts/a\x00b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /v1/receipts/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
    (b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400),
    (b"GET /" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"NOT HTTP AT ALL\r\n\r\n", 400),
], ids=["nul-in-path", "invalid-utf8-path", "nul-in-header", "length-and-chunked", "two-lengths", "1mb-url",
        "garbage"])
def test_requests_the_server_cannot_parse_get_a_json_error(server, request_bytes, status):
    _, port = server
    error = json_error(exchange(port, request_bytes), status)
    assert error["code"] in {"invalid_http", "url_too_long"} and error["message"]


def test_long_values_are_not_echoed_whole(server, material):
    base, _ = server
    venue = httpx.post(f"{base}/v1/keys", json={"role": "venue", "name": "echo"}, headers=admin_headers()).json()
    snapshot = json.loads(json.dumps(material.snapshot_json))
    snapshot["assets"][0]["price"] = "9" * 4000
    response = httpx.post(f"{base}/v1/snapshots", json=signed_snapshot(snapshot),
                          headers={"Authorization": f"Bearer {venue['token']}"})
    assert response.status_code == 422, response.text[:300]
    message = response.json()["error"]["message"]
    assert "9" * 200 not in response.text and len(response.text) < 1000
    assert "price" in message and re.search(r"\.\.\.\(400\d characters\)", message), message


# --- 3, 4. client identity and wrong keys, on SQLite and PostgreSQL -----------------------------------

def wrong_key(n: int) -> dict:
    """A well-formed key that is not registered (so the lookup reaches the database)."""
    return {"Authorization": f"Bearer zkm_{n:016x}_not-a-registered-secret"}


@pytest.fixture
def keyed_server(database_url):
    """A real server on SQLite, then on PostgreSQL (keys are looked up in the database)."""
    process = start(database_url, env={"ZKMARGIN_RATE_LIMIT_PER_MINUTE": "20"})
    port = process.port
    yield f"http://127.0.0.1:{port}"
    process.kill()
    process.wait()


def test_forwarded_for_is_not_believed_by_default(keyed_server):
    """From the same host, a rotating X-Forwarded-For neither resets the wrong-key budget nor the
    anonymous one (uvicorn trusted it from loopback: 100 wrong keys got 100 401s)."""
    statuses = [httpx.get(f"{keyed_server}/v1/circuits", headers={**wrong_key(i), "X-Forwarded-For": f"10.0.{i}.1"})
                .status_code for i in range(15)]
    assert statuses == [401] * 10 + [429] * 5
    anonymous = [httpx.get(f"{keyed_server}/v1/circuits", headers={"X-Forwarded-For": f"10.1.{i}.1"}).status_code
                 for i in range(25)]
    assert anonymous == [200] * 20 + [429] * 5


def test_wrong_keys_never_lock_out_a_valid_key(keyed_server):
    """Behind one address (a NAT), someone's wrong keys must not lock out every keyed caller."""
    created = httpx.post(f"{keyed_server}/v1/keys", json={"role": "verifier", "name": "valid"},
                         headers=admin_headers())
    verifier = {"Authorization": f"Bearer {created.json()['token']}"}
    statuses = [httpx.get(f"{keyed_server}/v1/circuits", headers=wrong_key(i)).status_code for i in range(12)]
    assert statuses == [401] * 10 + [429] * 2
    assert httpx.get(f"{keyed_server}/v1/circuits", headers=verifier).status_code == 200
    assert httpx.get(f"{keyed_server}/v1/keys", headers=admin_headers()).status_code == 200
    refused = httpx.get(f"{keyed_server}/v1/circuits", headers=wrong_key(99))
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_failures"
    assert refused.headers["retry-after"].isdigit()


def test_the_wrong_key_budget_holds_under_concurrency(keyed_server):
    """200 wrong keys at once: exactly the budget (10) are answered 401, the rest 429 (the old check
    read the budget before the lookups and counted after them: 55 of 200 were checked)."""
    import asyncio

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=keyed_server, limits=limits, timeout=60) as client:
            responses = await asyncio.gather(*(client.get("/v1/circuits", headers=wrong_key(i)) for i in range(200)))
        return [r.status_code for r in responses]

    statuses = asyncio.run(burst())
    # A loaded database may answer some lookups 503 (its pool is busy): those are not wrong keys, and
    # never more than the budget of wrong keys is checked either way.
    assert set(statuses) <= {401, 429, 503}, sorted(set(statuses))
    assert statuses.count(401) <= 10, statuses.count(401)
    assert statuses.count(401) == 10 or 503 in statuses, sorted(set(statuses))


def test_wrong_keys_on_metrics_spend_the_wrong_key_budget(keyed_server):
    """/metrics checks the admin key too (an operator's string, not a 256-bit token): its wrong keys are
    budgeted like every other route's (they were not: any number of guesses got 401)."""
    statuses = [httpx.get(f"{keyed_server}/metrics", headers={"Authorization": f"Bearer guess-{i}"}).status_code
                for i in range(12)]
    assert statuses == [401] * 10 + [429] * 2
    assert httpx.get(f"{keyed_server}/v1/circuits", headers=wrong_key(0)).status_code == 429
    assert httpx.get(f"{keyed_server}/metrics", headers=admin_headers()).status_code == 200


def test_forwarded_for_from_a_named_proxy_is_the_client(tmp_path):
    """ZKMARGIN_TRUSTED_PROXIES names the reverse proxy: its X-Forwarded-For is the client's address."""
    # As docs/service.md runs it behind a proxy on the same host.
    command = [sys.executable, "-c", "from cli.main import main; main()", "serve", "--host", "127.0.0.1", "--port",
               "0", "--database-url", f"sqlite:///{tmp_path}/p.db"]
    # A network (CIDR) names the proxy as well as an address does.
    process = start(None, command=command, env={"ZKMARGIN_TRUSTED_PROXIES": "192.0.2.7, 127.0.0.0/8"})
    port = process.port
    try:
        # Each forwarded client has its own budget: no 429 for 12 clients' single wrong keys.
        statuses = [httpx.get(f"http://127.0.0.1:{port}/v1/circuits",
                              headers={**wrong_key(i), "X-Forwarded-For": f"203.0.113.{i}"}).status_code
                    for i in range(12)]
        assert statuses == [401] * 12
        # An IPv6 client holds a whole /64: rotating through it does not buy a fresh budget each time.
        statuses = [httpx.get(f"http://127.0.0.1:{port}/v1/circuits",
                              headers={**wrong_key(i), "X-Forwarded-For": f"2001:db8:1:2::{i + 1:x}"}).status_code
                    for i in range(12)]
        assert statuses == [401] * 10 + [429] * 2
        # HTTPS as the proxy reports it: browsers are told to stay on HTTPS (never over plain HTTP).
        https = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Forwarded-Proto": "https"})
        assert https.headers["strict-transport-security"].startswith("max-age=")
        assert "strict-transport-security" not in httpx.get(f"http://127.0.0.1:{port}/healthz").headers
    finally:
        process.kill()
        process.wait()
