"""Run the shell examples of README.md and docs/*.md as written: extraction, placeholders, servers.

A fenced block tagged sh, console or bash is an example to run; output and config use `text`.
Each page runs in its own empty folder, block after block, one logical command (continuation
lines joined) at a time through bash, so a command fails exactly as a reader's copy would.
A command's expected exit status is 0 unless its comment says `# exit N: why`.
`zkmargin serve` lines start the server in the background on a free port (the test's); every
`127.0.0.1:8000` in later commands is rewritten to it. curl runs against it when curl is installed,
else the same method, URL, headers and body parsed from the curl line go through httpx.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNNABLE_FENCES = ("sh", "console", "bash")
DOC_PORT = 8000
EXPECTED_EXIT = re.compile(r"#\s*exit (\d+):")
PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)>")


def doc_pages() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def shell_blocks(text: str) -> list[str]:
    """The bodies of the page's sh / console / bash fenced blocks, in order."""
    fences = "|".join(RUNNABLE_FENCES)
    return re.findall(rf"^```(?:{fences})\n(.*?)^```", text, flags=re.S | re.M)


def commands(block: str) -> Iterator[str]:
    """Logical commands of a block: continuation lines and open quotes joined, comment-only lines dropped."""
    pending = ""
    for line in block.splitlines():
        if not pending and line.startswith("$ "):
            line = line[2:]
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        pending += line
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # a quote still open: the command goes on, newline included
            pending += "\n"
            continue
        yield pending
        pending = ""
    if pending:
        raise AssertionError(f"unterminated command: {pending}")


def expected_exit(command: str) -> int:
    """0, or N from a trailing `# exit N: why` comment."""
    found = EXPECTED_EXIT.search(command)
    return int(found.group(1)) if found else 0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PageRun:
    """One page's commands in one folder, with placeholder values read from the files made so far."""

    def __init__(self, workdir: Path, env: dict[str, str], fill: dict[str, Callable[[Path], str]]) -> None:
        self.workdir, self.env, self.fill = workdir, env, fill
        self.port = free_port()
        self.servers: list[subprocess.Popen] = []

    def substitute(self, command: str) -> str:
        """The command with placeholders filled and the documented port replaced by the test's."""
        def value(match: re.Match) -> str:
            name = match.group(1)
            if name not in self.fill:
                raise AssertionError(f"no value for placeholder <{name}> in: {command}")
            return shlex.quote(self.fill[name](self.workdir))
        command = PLACEHOLDER.sub(value, command)
        return command.replace(f"127.0.0.1:{DOC_PORT}", f"127.0.0.1:{self.port}").replace(
            f"--port {DOC_PORT}", f"--port {self.port}")

    def run(self, command: str) -> subprocess.CompletedProcess:
        """Run one documented command; a server command starts in the background."""
        wanted = expected_exit(command)
        command = self.substitute(command)
        if re.search(r"\bzkmargin serve\b|-m zkmargin\.(verifier_)?service\b", command):
            self.start_server(command)
            return subprocess.CompletedProcess(command, 0, "", "")
        if command.lstrip().startswith("curl ") and shutil.which("curl") is None:
            result = curl_through_httpx(command, self.workdir)
        else:
            result = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=self.workdir, env=self.env,
                                    capture_output=True, text=True, timeout=600)
        assert result.returncode == wanted, (
            f"{command}\nexit {result.returncode}, documented {wanted}\n"
            f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}")
        return result

    def start_server(self, command: str) -> None:
        """Start the documented server command and wait until /healthz answers."""
        import httpx

        log = open(self.workdir / f"server-{len(self.servers)}.log", "w")  # noqa: SIM115 - closed with the server
        server = subprocess.Popen(["bash", "-c", command], cwd=self.workdir, env=self.env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.servers.append(server)
        for _ in range(600):
            if server.poll() is not None:
                raise AssertionError(f"{command} exited {server.returncode}:\n"
                                     f"{(self.workdir / log.name).read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{command} did not answer /healthz within a minute")

    def close(self) -> None:
        """Stop the servers this page started."""
        for server in self.servers:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait()


def parse_curl(command: str, workdir: Path) -> dict:
    """method, url, headers, body, out and fail of a curl line (-X, -H, -d/--data[-binary] with @file, -o, -sSf),
    its words expanded by bash as the shell would ($(cat file), quotes)."""
    operators = {"|", "||", "&", "&&", ";", ">", ">>", "<"}
    if operators & set(shlex.shlex(command, posix=True, punctuation_chars=True)):
        raise AssertionError(f"a curl line in the docs takes no pipe or redirection (use -o FILE): {command}")
    expanded = subprocess.run(["bash", "-c", f"printf '%s\\0' {command.split(' ', 1)[1]}"], cwd=workdir,
                              capture_output=True, text=True, check=True).stdout.split("\0")[:-1]
    request: dict = {"method": None, "headers": {}, "body": None, "url": None, "out": None, "fail": False}
    args = iter(expanded)
    for arg in args:
        if arg in ("-X", "--request"):
            request["method"] = next(args)
        elif arg in ("-H", "--header"):
            name, _, val = next(args).partition(":")
            request["headers"][name.strip()] = val.strip()
        elif arg in ("-d", "--data", "--data-binary"):
            data = next(args)
            request["body"] = (workdir / data[1:]).read_bytes() if data.startswith("@") else data.encode()
        elif arg in ("-o", "--output"):
            request["out"] = workdir / next(args)
        elif arg in ("-w", "--write-out"):
            raise AssertionError("the httpx stand-in for curl has no --write-out")
        elif arg.startswith("-") and set(arg[1:]) <= set("sSf"):
            request["fail"] = request["fail"] or "f" in arg
        else:
            request["url"] = arg
    if request["method"] is None:
        request["method"] = "POST" if request["body"] is not None else "GET"
    if request["body"] is not None:
        request["headers"].setdefault("Content-Type", "application/x-www-form-urlencoded")
    return request


def curl_through_httpx(command: str, workdir: Path) -> subprocess.CompletedProcess:
    """The request of a curl line sent with httpx, with curl's exit status for -f (22 on an HTTP error)."""
    import httpx

    request = parse_curl(command, workdir)
    response = httpx.request(request["method"], request["url"], headers=request["headers"],
                             content=request["body"], timeout=120)
    if request["out"] is not None:
        request["out"].write_bytes(response.content)
    code = 22 if request["fail"] and response.status_code >= 400 else 0
    return subprocess.CompletedProcess(command, code, "" if request["out"] else response.text, "")


def json_field(file: str, *keys: str) -> Callable[[Path], str]:
    """A placeholder value: a field of a JSON file the page's commands wrote (first line of a JSONL file)."""
    def read(workdir: Path) -> str:
        text = (workdir / file).read_text()
        value = json.loads(text) if file.endswith(".json") else json.loads(text.splitlines()[0])
        for key in keys:
            value = value[key]
        return str(value)
    return read


def python_env(cache_dir: Path) -> dict[str, str]:
    """The environment doc commands run in: this interpreter's `zkmargin` and `python` first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["ZKMARGIN_CACHE_DIR"] = str(cache_dir)
    env.pop("ZKMARGIN_ADMIN_KEY", None)
    return env
