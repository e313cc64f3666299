"""The doc-command runner itself: what it extracts, joins and expects, so a broken example cannot pass unseen."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.docs.runner import PageRun, commands, expected_exit, json_field, parse_curl, shell_blocks

PAGE = """text
```sh
zkmargin sample --workdir .   # a comment
# a comment line
zkmargin prove a.json \\
    --context 42
python -c 'import json
print(1)' > out.txt
```
```text
not run
```
```console
$ echo hi
```
"""


def test_only_sh_console_and_bash_blocks_are_run():
    blocks = shell_blocks(PAGE)
    assert len(blocks) == 2 and "not run" not in "".join(blocks)


def test_commands_join_continuations_and_open_quotes_and_drop_comments_and_prompts():
    first, second = shell_blocks(PAGE)
    assert list(commands(first)) == [
        "zkmargin sample --workdir .   # a comment",
        "zkmargin prove a.json      --context 42",
        "python -c 'import json\nprint(1)' > out.txt",
    ]
    assert list(commands(second)) == ["echo hi"]
    with pytest.raises(AssertionError, match="unterminated"):
        list(commands("echo 'open\n"))


@pytest.mark.parametrize("command,code", [
    ("zkmargin margin m.json s.json   # exit 1: margin call", 1),
    ("zkmargin verify p.json   # exit 0 valid, 1 invalid, 2 error", 0),
    ("curl -sf URL  # exit 22: revoked, 401", 22),
])
def test_the_documented_exit_status_comes_from_an_exit_n_comment(command, code):
    assert expected_exit(command) == code


def test_a_command_that_exits_otherwise_than_documented_fails_the_page(tmp_path):
    run = PageRun(tmp_path, {"PATH": "/usr/bin:/bin"}, {})
    run.run("false   # exit 1: documented")
    with pytest.raises(AssertionError, match="exit 1, documented 0"):
        run.run("false")
    with pytest.raises(AssertionError, match="exit 0, documented 1"):
        run.run("true   # exit 1: documented but not so")


def test_placeholders_are_filled_from_files_and_an_unknown_one_fails(tmp_path):
    (tmp_path / "opening.json").write_text(json.dumps({"commitment": "123"}, indent=1))
    run = PageRun(tmp_path, {"PATH": "/usr/bin:/bin"}, {"C": json_field("opening.json", "commitment")})
    assert run.run("echo <C> http://127.0.0.1:8000/x").stdout.strip() == f"123 http://127.0.0.1:{run.port}/x"
    with pytest.raises(AssertionError, match="no value for placeholder <D>"):
        run.run("echo <D>")


def test_a_curl_line_parses_into_the_request_httpx_sends_without_curl(tmp_path):
    (tmp_path / "snapshot.json").write_text('{"snapshot_id": "s"}')
    (tmp_path / "key.json").write_text('{"venue": "v"}')
    line = ("curl -sf -X POST http://127.0.0.1:9/v1/snapshots -H 'Authorization: Bearer T' "
            "-H 'Content-Type: application/json' -o out.json -d \"{\\\"snapshot\\\": $(cat snapshot.json)}\"")
    request = parse_curl(line, tmp_path)
    assert request["method"] == "POST" and request["url"] == "http://127.0.0.1:9/v1/snapshots"
    assert request["headers"] == {"Authorization": "Bearer T", "Content-Type": "application/json"}
    assert json.loads(request["body"]) == {"snapshot": {"snapshot_id": "s"}}
    assert request["out"] == tmp_path / "out.json" and request["fail"]
    at_file = parse_curl("curl -sf -X POST http://h/v1/venues -d @key.json", tmp_path)
    assert at_file["body"] == b'{"venue": "v"}' and at_file["out"] is None
    assert parse_curl("curl -s http://h/healthz", tmp_path)["method"] == "GET"
    with pytest.raises(AssertionError, match="no pipe or redirection"):
        parse_curl("curl -sf http://h/metrics | grep -q zkmargin", tmp_path)
    assert parse_curl("curl -sf -d '{\"a\": \"x > y | z\"}' http://h/v", tmp_path)["body"] == b'{"a": "x > y | z"}'


def test_curl_and_its_httpx_stand_in_agree_on_a_real_server(tmp_path):
    """The same curl line through curl and through httpx: same body, same -f exit status on an error."""
    import shutil
    import time

    import httpx

    from tests.docs.runner import curl_through_httpx, free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        (tmp_path / "page.txt").write_text("served")
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/page.txt", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        ok = curl_through_httpx(f"curl -sf http://127.0.0.1:{port}/page.txt", tmp_path)
        missing = curl_through_httpx(f"curl -sf http://127.0.0.1:{port}/missing", tmp_path)
        assert (ok.returncode, ok.stdout, missing.returncode) == (0, "served", 22)
        if shutil.which("curl"):
            real = subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/missing"], capture_output=True)
            assert real.returncode == 22
    finally:
        server.terminate()
        server.wait()


def test_every_fence_of_the_docs_is_run_or_plainly_not_a_command():
    """A block fenced `shell` or `zsh` would escape the runner: only these languages are allowed."""
    from tests.docs.runner import doc_pages

    allowed = {"sh", "console", "bash", "text", "json", "python", ""}
    for page in doc_pages():
        fences = re.findall(r"^```(\S*)$", page.read_text(), flags=re.M)
        assert set(fences) <= allowed, (page.name, set(fences) - allowed)
