"""The HTTP layer alone: what each HTTP protocol costs per request, and what one oversized header costs a server.

1. Server CPU per request and rate of GET /healthz on keep-alive connections (8 clients, prepared
   requests), for this tree's app on uvicorn's stock httptools protocol (no head limit), on the
   service's guarded httptools protocol (verifier_service/server.py, what both entry points run) and
   on uvicorn's h11 protocol with h11_max_incomplete_event_size (the other way to bound a head).
   /healthz does no verification, so the HTTP layer is most of what is measured.
2. One connection sending an unterminated --header-mib MiB header to `python -m zkmargin.verifier_service`
   (this tree, and the whole server at --baseline REV): how much of it the server read, its CPU and
   RSS growth, and the slowest /healthz answered meanwhile.

Usage: python bench/http_layer.py [--requests 4000] [--rounds 2] [--header-mib 64] [--baseline REV]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cross import baseline_clone  # noqa: E402
from service import cpu_seconds, free_port  # noqa: E402

PROTOCOLS = {
    "httptools (stock)": "http='httptools'",
    "guarded httptools": "http='zkmargin.verifier_service.server:GuardedHttpToolsProtocol', proxy_headers=False, "
                         "server_header=False",
    "h11 (bounded)": "http='h11', h11_max_incomplete_event_size=32768, proxy_headers=False, server_header=False",
}
RUN = ("import sys, uvicorn; uvicorn.run('zkmargin.verifier_service.app:create_app', factory=True, port=int(sys.argv[1]), "
       "log_level='warning', {})")
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"


def wait_ready(port: int) -> None:
    """Until /healthz answers."""
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


async def load(port: int, requests: int, concurrency: int) -> None:
    """requests GET /healthz over concurrency keep-alive connections."""

    async def worker(count: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(count):
            writer.write(REQUEST)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            await reader.readexactly(length)
        writer.close()

    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))


def protocol_row(name: str, requests: int, environment: dict[str, str]) -> dict:
    """One protocol: start, warm up, load, stop; CPU per request and rate."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", RUN.format(PROTOCOLS[name]), str(port)], env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port)
        asyncio.run(load(port, 400, 8))
        cpu_before, started = cpu_seconds(server.pid), time.perf_counter()
        asyncio.run(load(port, requests, 8))
        wall, cpu = time.perf_counter() - started, cpu_seconds(server.pid) - cpu_before
    finally:
        server.kill()
        server.wait()
    return {"protocol": name, "requests": requests, "per_s": requests / wall, "server_cpu_ms_per_request": cpu / requests * 1000}


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def header_attack(label: str, cwd: Path | None, mib: int, environment: dict[str, str]) -> dict:
    """One unterminated mib-MiB header against `python -m zkmargin.verifier_service` (cwd: a clone to serve from)."""
    port = free_port()
    env = {**environment, **({"PYTHONPATH": str(cwd)} if cwd else {})}
    database = Path(tempfile.mkdtemp()) / "attack.db"
    server = subprocess.Popen([sys.executable, "-m", "zkmargin.verifier_service", "--port", str(port), "--database-url",
                               f"sqlite:///{database}"], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_ready(port)
        cpu_before, rss_before = cpu_seconds(server.pid), rss_mb(server.pid)
        latencies: list[float] = []
        done = threading.Event()

        def probe() -> None:
            while not done.is_set():
                started = time.perf_counter()
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=120)
                except httpx.HTTPError:
                    pass
                latencies.append(time.perf_counter() - started)
                time.sleep(0.05)

        prober = threading.Thread(target=probe)
        prober.start()
        sent, peak_rss = 0, rss_before
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.settimeout(120)
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Big: ")
                for _ in range(mib):
                    sock.sendall(b"a" * (1 << 20))
                    sent += 1
                    peak_rss = max(peak_rss, rss_mb(server.pid))
            except OSError:
                pass  # the server closed the connection
            # Until the server has digested what it read (its CPU stops growing).
            last = cpu_seconds(server.pid)
            while True:
                time.sleep(0.5)
                peak_rss = max(peak_rss, rss_mb(server.pid))
                now = cpu_seconds(server.pid)
                if now - last < 0.05:
                    break
                last = now
        done.set()
        prober.join()
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(database.parent, ignore_errors=True)
    return {"server": label, "header_mib": mib, "mib_sent": sent, "server_cpu_s": last - cpu_before,
            "rss_before_mb": rss_before, "rss_peak_mb": peak_rss, "healthz_max_ms": max(latencies) * 1000,
            "healthz_probes": len(latencies)}


def main() -> None:
    """Measure, print the two tables, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=2, help="protocols alternate this many times; median kept")
    parser.add_argument("--header-mib", type=int, default=64)
    parser.add_argument("--baseline", metavar="REV", help="also attack the whole server at git revision REV")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "http_layer.json")
    args = parser.parse_args()
    database = Path(tempfile.mkdtemp()) / "bench.db"
    environment = {**os.environ, "ZKMARGIN_ADMIN_KEY": "bench", "ZKMARGIN_DATABASE_URL": f"sqlite:///{database}",
                   "ZKMARGIN_RATE_LIMIT_PER_MINUTE": str(10**9)}
    rounds: dict[str, list[dict]] = {name: [] for name in PROTOCOLS}
    for _ in range(max(1, args.rounds)):
        for name in PROTOCOLS:
            rounds[name].append(protocol_row(name, args.requests, environment))
    protocols = [{**sorted(rows, key=lambda r: r["server_cpu_ms_per_request"])[(len(rows) - 1) // 2],
                  "round_cpu_ms_per_request": [round(r["server_cpu_ms_per_request"], 3) for r in rows]}
                 for rows in rounds.values()]
    attacks = []
    work = Path(tempfile.mkdtemp(prefix="zkmargin-baseline-"))
    try:
        if args.baseline:
            clone, commit = baseline_clone(args.baseline, work)
            attacks.append(header_attack(commit, clone, args.header_mib, environment))
        attacks.append(header_attack("this tree", None, args.header_mib, environment))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(database.parent, ignore_errors=True)
    print(f"{'protocol':>18} {'GET /healthz/s':>14} {'srv cpu ms/req':>14} {'rounds':>24}")
    for row in protocols:
        print(f"{row['protocol']:>18} {row['per_s']:>14.0f} {row['server_cpu_ms_per_request']:>14.3f} "
              f"{statistics.median(row['round_cpu_ms_per_request']):>10.3f} {row['round_cpu_ms_per_request']}")
    print(f"\n{'server':>10} {'header MiB':>10} {'sent MiB':>8} {'srv cpu s':>9} {'RSS MB':>13} {'healthz max ms':>14}")
    for row in attacks:
        print(f"{row['server']:>10} {row['header_mib']:>10} {row['mib_sent']:>8} {row['server_cpu_s']:>9.2f} "
              f"{row['rss_before_mb']:>5.0f} -> {row['rss_peak_mb']:<5.0f} {row['healthz_max_ms']:>14.0f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(),
                                    "load_average": os.getloadavg(), "protocols": protocols,
                                    "header_attack": attacks}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
