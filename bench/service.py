"""Throughput and latency of POST /v1/verify on a real uvicorn server on loopback.

Starts `python -m zkmargin.verifier_service` (SQLite, fsync on every receipt), registers
cross-n64-k8, publishes a snapshot, then sends --requests verifications from
--concurrency concurrent clients (one asyncio process on the same machine, so
the client's CPU counts against the 2 cores too). Prints a table, writes JSON.

One uvicorn worker process is the faster configuration on 2 cores: its verification
threads already use both cores (the pairing releases the GIL), while two processes
add contention for the cores and for SQLite's write lock between processes.

With --baseline REV, the same load also runs against a server whose zkmargin library is
the one at git revision REV (a clone with its C kernels built; circuits and the service
stay this tree's), so before and after come from one run. With --baseline-tree the
circuits and the service come from REV too (the whole server as it was at REV).
--rounds N alternates baseline and this tree N times (the machine's load drifts within
a run) and reports each configuration's median round by throughput.

Usage: python bench/service.py [--requests 2000] [--concurrency 16] [--workers 1 2]
                               [--baseline REV [--baseline-tree]] [--rounds 1] [--client raw|httpx] [--h11]

--h11 adds, in each round, this tree's app on uvicorn's h11 parser (its head bounded with
h11_max_incomplete_event_size), the alternative to the service's own guarded httptools protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cross import baseline_clone, market  # noqa: E402

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.circuits.proving import prove_account  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.groth16 import setup  # noqa: E402
from zkmargin.groth16.serialization import proof_to_json, vk_to_json  # noqa: E402
from zkmargin.margin.models import snapshot_to_json  # noqa: E402
from zkmargin.venue.attestation import (  # noqa: E402
    VenueSigningKey,
    attest,
    attestation_to_json,
    public_key_to_json,
    sign_snapshot,
    snapshot_signature_to_json,
)

if TYPE_CHECKING:
    from collections.abc import Callable

ADMIN = "bench-admin"


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RawConnection:
    """One keep-alive HTTP/1.1 connection that sends a request prepared once and reads the response.

    httpx spends about 2 ms of CPU per request; on a 2-core machine shared with the server, that
    is CPU the server does not get. This reads exactly what uvicorn answers (a status line,
    headers with content-length, the body) and reconnects when the server closes.
    """

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host, self.port, self.request = host, port, request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self) -> int:
        """Send the request, read the whole response; its status."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {name.strip().lower(): value.strip() for name, _, value in
                   (line.partition(":") for line in lines[1:] if line)}
        await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status

    async def close(self) -> None:
        """Close the connection (the next send opens a new one)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = self.reader = None


def post_bytes(host: str, port: int, path: str, body: dict) -> bytes:
    """A complete HTTP/1.1 POST request with a JSON body."""
    payload = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload


async def load(base: str, body: dict, requests: int, concurrency: int,
               client: str = "raw") -> tuple[list[float], list[int], float, list[float]]:
    """Send requests with concurrency workers (connections) while probing /healthz every 100 ms.

    client "raw" sends through RawConnection, "httpx" through httpx.AsyncClient.
    Returns (verify latencies s, statuses, wall s, /healthz latencies s).
    """
    latencies: list[float] = []
    statuses: list[int] = []
    health: list[float] = []
    counter = iter(range(requests))
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    url = httpx.URL(base)
    request = post_bytes(url.host, url.port or 80, "/v1/verify", body)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as pooled, \
            httpx.AsyncClient(base_url=base, timeout=60) as prober:

        async def worker() -> None:
            connection = RawConnection(url.host, url.port or 80, request)
            try:
                for _ in counter:
                    started = time.perf_counter()
                    if client == "raw":
                        status = await connection.send()
                    else:
                        status = (await pooled.post("/v1/verify", json=body)).status_code
                    latencies.append(time.perf_counter() - started)
                    statuses.append(status)
            finally:
                await connection.close()

        async def probe() -> None:
            # What a load balancer's liveness check sees while the pool is saturated.
            while not done.is_set():
                started = time.perf_counter()
                (await prober.get("/healthz")).raise_for_status()
                health.append(time.perf_counter() - started)
                await asyncio.sleep(0.1)

        started = time.perf_counter()
        probing = asyncio.create_task(probe())
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
        done.set()
        await probing
        return latencies, statuses, wall, health


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(value) for value in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def h11_command(port: int, workers: int, database: Path) -> list[str]:
    """This tree's app on uvicorn's h11 parser with its head bound (the alternative to the service's
    guarded httptools protocol); settings other than the database come from the environment."""
    code = ("import os, sys, uvicorn; os.environ['ZKMARGIN_DATABASE_URL'] = sys.argv[3]; "
            "uvicorn.run('zkmargin.verifier_service.app:create_app', factory=True, port=int(sys.argv[1]), "
            "workers=int(sys.argv[2]), http='h11', h11_max_incomplete_event_size=32768, proxy_headers=False, "
            "server_header=False, log_level='info')")
    return [sys.executable, "-c", code, str(port), str(workers), f"sqlite:///{database}"]


def run_server(workers: int, setup_body: Callable[[str], dict], requests: int, concurrency: int,
               library_root: Path | None = None, client: str = "raw", h11: bool = False) -> dict:
    """One server configuration: start, register, warm up, load, stop; the figures as a row.

    library_root: a checkout whose zkmargin/ the server imports instead of this tree's.
    h11: this tree's app on uvicorn's h11 parser instead of the service's own protocol.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = Path(tempfile.mkdtemp()) / "bench.db"
    env = {**os.environ, "ZKMARGIN_ADMIN_KEY": ADMIN, "ZKMARGIN_RATE_LIMIT_PER_MINUTE": str(10**9)}
    if library_root is not None:
        # `python -m` puts the working directory first on sys.path: the checkout's zkmargin wins there,
        # and the subpackages it lacks (circuits, service) come from this tree's editable install.
        env["PYTHONPATH"] = str(library_root)
    # The server's access log (a line per request) goes to a file beside its database, not the table.
    command = [sys.executable, "-m", "zkmargin.verifier_service", "--port", str(port), "--workers", str(workers),
               "--database-url", f"sqlite:///{database}"]
    server = subprocess.Popen(h11_command(port, workers, database) if h11 else command, env=env,
                              cwd=library_root,
                              stdout=open(database.with_suffix(".log"), "wb"), stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        body = setup_body(base)
        asyncio.run(load(base, body, 50 * workers, concurrency, client))  # warm every worker's caches
        # CPU time per request as well as the rate: on a shared machine the rate follows the other load,
        # the CPU a request costs much less so.
        server_before, client_before = cpu_seconds(server.pid), time.process_time()
        latencies, statuses, wall, health = asyncio.run(load(base, body, requests, concurrency, client))
        server_after, client_cpu = cpu_seconds(server.pid), time.process_time() - client_before
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    quantiles = statistics.quantiles(latencies, n=100)
    health_quantiles = statistics.quantiles(health, n=100)
    return {
        "requests": requests,
        "concurrency": concurrency,
        "server_workers": workers,
        "client": client,
        "ok": sum(1 for s in statuses if s == 200),
        "throughput_per_s": requests / wall,
        # Several workers are child processes, whose CPU /proc counts only once they have exited.
        "server_cpu_ms_per_request": None if server_after is None or server_before is None or workers > 1
        else (server_after - server_before) / requests * 1000,
        "client_cpu_ms_per_request": client_cpu / requests * 1000,
        "p50_ms": quantiles[49] * 1000,
        "p90_ms": quantiles[89] * 1000,
        "p95_ms": quantiles[94] * 1000,
        "p99_ms": quantiles[98] * 1000,
        "max_ms": max(latencies) * 1000,
        "healthz_probes": len(health),
        "healthz_p50_ms": health_quantiles[49] * 1000,
        "healthz_p99_ms": health_quantiles[98] * 1000,
        "healthz_max_ms": max(health) * 1000,
    }


def median_round(rounds: list[dict]) -> dict:
    """The round of median throughput, with every round's throughput and p99 beside it."""
    ranked = sorted(rounds, key=lambda row: row["throughput_per_s"])
    return {**ranked[(len(ranked) - 1) // 2], "rounds": len(rounds),
            "round_throughputs_per_s": [round(r["throughput_per_s"], 1) for r in rounds],
            "round_p99_ms": [round(r["p99_ms"], 1) for r in rounds]}


def main() -> None:
    """Run the server in each configuration, load it, print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="uvicorn worker processes; one run per value")
    parser.add_argument("--baseline", metavar="REV", action="append",
                        help="also load a server on the library at git revision REV (repeatable: e.g. main and HEAD "
                             "as clones built alike, so the tree's own build is not part of the difference)")
    parser.add_argument("--baseline-tree", action="store_true",
                        help="the baseline server's circuits and service come from REV too")
    parser.add_argument("--rounds", type=int, default=1, help="alternate baseline and this tree this many times")
    parser.add_argument("--h11", action="store_true",
                        help="also load this tree's app on uvicorn's h11 parser (head bounded) in each round")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="raw: prepared requests on keep-alive connections (little client CPU); httpx: AsyncClient")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "service.json")
    args = parser.parse_args()
    backend = get_backend("arkworks")
    circuit = circuit_from_id("cross-n64-k8")
    snapshot, account = market(64, 8, random.Random(5))
    pk = setup(circuit.compile(), backend=backend)
    proof, public = prove_account(circuit, pk, account, snapshot, 42, 7, backend)
    venue_key = VenueSigningKey.generate()

    def setup_body(base: str) -> dict:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        venue = httpx.post(f"{base}/v1/keys", json={"role": "venue", "name": "bench"}, headers=admin).json()["token"]
        httpx.post(f"{base}/v1/circuits", json={"circuit_id": circuit.circuit_id,
                                               "verification_key": vk_to_json(pk.vk, backend, alphabeta=[])},
                   headers=admin).raise_for_status()
        # The service stores only snapshots signed by their venue's registered key, and asks for the
        # venue's attestation of each commitment: the measured request carries one.
        httpx.post(f"{base}/v1/venues", json=public_key_to_json(venue_key.public_key(snapshot.venue)),
                   headers=admin).raise_for_status()
        httpx.post(f"{base}/v1/snapshots", json={"snapshot": snapshot_to_json(snapshot),
                                                 "signature": snapshot_signature_to_json(sign_snapshot(venue_key,
                                                                                                       snapshot))},
                   headers={"Authorization": f"Bearer {venue}"}).raise_for_status()
        return {"circuit_id": circuit.circuit_id, "snapshot_id": snapshot.snapshot_id,
                "commitment": str(public.commitment), "context": "7", "proof": proof_to_json(proof, backend),
                "attestation": attestation_to_json(attest(venue_key, snapshot, "bench", public.commitment))}

    baseline_rows: list[dict] = []
    rows: list[dict] = []
    work = Path(tempfile.mkdtemp(prefix="zkmargin-baseline-"))
    try:
        clones = []
        for index, revision in enumerate(args.baseline or []):
            (work / str(index)).mkdir()
            clone, commit = baseline_clone(revision, work / str(index), whole=args.baseline_tree)
            clones.append((clone, commit + (" (tree)" if args.baseline_tree else "")))
        for workers in args.workers:
            before: dict[str, list[dict]] = {commit: [] for _, commit in clones}
            after, on_h11 = [], []
            for _ in range(max(1, args.rounds)):
                for clone, commit in clones:
                    before[commit].append({**run_server(workers, setup_body, args.requests, args.concurrency, clone,
                                                        args.client), "library": commit})
                after.append({**run_server(workers, setup_body, args.requests, args.concurrency, None, args.client),
                              "library": "this tree"})
                if args.h11:
                    on_h11.append({**run_server(workers, setup_body, args.requests, args.concurrency, None,
                                                args.client, h11=True), "library": "this tree, h11"})
            baseline_rows += [median_round(runs) for runs in before.values()]
            rows.append(median_round(after))
            if on_h11:
                rows.append(median_round(on_h11))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'library':>16} {'requests':>8} {'conc':>5} {'workers':>7} {'ok':>6} {'verif/s':>8} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'max ms':>7} {'healthz p50':>11} {'healthz p99':>11} {'srv cpu ms/req':>14}")
    for row in baseline_rows + rows:
        print(f"{row['library']:>16} {row['requests']:>8} {row['concurrency']:>5} {row['server_workers']:>7} {row['ok']:>6} "
              f"{row['throughput_per_s']:>8.1f} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f} {row['max_ms']:>7.1f} "
              f"{row['healthz_p50_ms']:>11.1f} {row['healthz_p99_ms']:>11.1f} "
              f"{row['server_cpu_ms_per_request'] or float('nan'):>14.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # The first row stays at the top level so readers of the earlier one-row file keep working.
    document = {"machine": platform.platform(), "cpus": os.cpu_count(), "circuit_id": circuit.circuit_id,
                "public_inputs": circuit.num_public, **rows[0], "runs": rows}
    if baseline_rows:
        document["baseline_runs"] = baseline_rows
    args.out.write_text(json.dumps(document, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
