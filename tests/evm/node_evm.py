"""Drive tests/evm/harness.mjs (solc + a Prague ethereumjs EVM in one node process) from Python.

The npm packages come from .ci/npm (installed by .ci/run) or $ZKMARGIN_NPM_DIR; `unavailable_reason`
says why the EVM cannot run here, for a pytest skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).resolve().parent / "harness.mjs"
NPM_PACKAGES = ("solc", "@ethereumjs/evm", "@ethereumjs/common", "@ethereumjs/util", "@noble/hashes")
DEFAULT_SENDER = "0x" + "11" * 20
INTRINSIC_GAS = 21_000


def npm_dir() -> Path:
    """Where the npm packages live: $ZKMARGIN_NPM_DIR or the CI install under .ci/npm."""
    return Path(os.environ.get("ZKMARGIN_NPM_DIR") or REPO / ".ci" / "npm")


def unavailable_reason() -> str | None:
    """Why the EVM harness cannot run here, or None when it can."""
    if not shutil.which("node"):
        return "node is not installed (npm unavailable): the EVM tests need node, solc and @ethereumjs/evm"
    missing = [p for p in NPM_PACKAGES if not (npm_dir() / "node_modules" / p / "package.json").exists()]
    if missing:
        return f"npm packages {', '.join(missing)} are not installed in {npm_dir()} (bash .ci/run installs them)"
    return None


def transaction_gas(execution_gas: int, data: bytes) -> int:
    """Gas a transaction with this calldata and execution would be charged (EIP-7623: max of the two)."""
    zeros = data.count(0)
    nonzeros = len(data) - zeros
    standard = INTRINSIC_GAS + 4 * zeros + 16 * nonzeros + execution_gas
    floor = INTRINSIC_GAS + 10 * (zeros + 4 * nonzeros)
    return max(standard, floor)


@dataclass
class CallResult:
    """The outcome of one call: success, return data, gas, the custom error's name, logs."""

    success: bool
    return_data: bytes
    gas_used: int
    error: str | None
    exception: str | None
    logs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def returned_true(self) -> bool:
        """A successful call that returned the ABI encoding of true."""
        return self.success and self.return_data == (1).to_bytes(32, "big")

    @property
    def returned_false(self) -> bool:
        """A successful call that returned the ABI encoding of false."""
        return self.success and self.return_data == bytes(32)


class NodeEvm:
    """One node process (Mainnet's Prague rules with chain_id): compile, deploy, call; state persists between calls."""

    def __init__(self, chain_id: int = 1) -> None:
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        env = dict(os.environ, ZKMARGIN_NPM_DIR=str(npm_dir()), ZKMARGIN_EVM_CHAIN_ID=str(chain_id))
        self._process = subprocess.Popen(
            ["node", str(HARNESS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        self.compiled: dict[str, dict[str, Any]] = {}

    def _request(self, **request: Any) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the EVM harness exited (status {self._process.poll()})")
        response = json.loads(line)
        if "fatal" in response:
            raise RuntimeError(response["fatal"])
        return response

    def compile(self, sources: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Compile Solidity sources (evmVersion prague, optimizer on); contract name -> abi, selectors, size."""
        contracts = self._request(op="compile", sources=sources)["contracts"]
        self.compiled.update(contracts)
        return contracts

    def deploy(self, contract: str, args: bytes = b"", sender: str = DEFAULT_SENDER) -> tuple[str, CallResult]:
        """Deploy a compiled contract with ABI-encoded constructor arguments; (address, result)."""
        response = self._request(op="deploy", contract=contract, args="0x" + args.hex(), **{"from": sender})
        result = _result(response)
        if not result.success:
            raise RuntimeError(f"deploying {contract} failed: {result.exception} {result.error}")
        return response["address"], result

    def call(self, to: str, data: bytes, sender: str = DEFAULT_SENDER, gas: int | None = None) -> CallResult:
        """Run a call (it may change state) and describe its outcome."""
        request: dict[str, Any] = {"op": "call", "to": to, "data": "0x" + data.hex(), "from": sender}
        if gas is not None:
            request["gas"] = gas
        return _result(self._request(**request))

    def close(self) -> None:
        """Stop the node process."""
        if self._process.stdin:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout:
            self._process.stdout.close()


def _result(response: dict[str, Any]) -> CallResult:
    return CallResult(
        success=response["success"],
        return_data=bytes.fromhex(response["returnData"][2:]),
        gas_used=response["gasUsed"],
        error=response["error"],
        exception=response["exception"],
        logs=response["logs"],
    )
