"""Phase-2 ceremony: contribute and verify times, ours against snarkjs 0.7.6, in one run, as ratios.

For each circuit: export the .r1cs, make a prepared ptau of the size it needs (with a
known tau: snarkjs's powersoftau takes minutes per power at these sizes; the phase-2
work does not depend on who made the ptau), `zkey new`, then time
  contribute: ours (library call) and `snarkjs zkey contribute` on the same initial key;
  verify:     ours (recomputes the initial key, as snarkjs does) and `snarkjs zkey verify`
              on the same one-contribution key.
snarkjs times are subprocess wall times (node start-up included, about 0.3 s).
Machines differ by ~2x from one day to the next and this one is shared: read the ratios.

With --acceptance: the issue's acceptance run on the first circuit instead: contributions by
ours, snarkjs, ours and a beacon; `zkey verify` by both tools; a proof of a random healthy
account from the final key, checked by our verifier and by `snarkjs groth16 verify`.

Usage: python bench/ceremony.py [--circuits cross-n64-k8 isolated-n64-k8] [--workdir DIR] [--acceptance]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.groth16.test_snarkjs_interop import snarkjs_command  # noqa: E402
from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.groth16 import zkey as zk_mod  # noqa: E402
from zkmargin.groth16.ptau import insecure_ptau_for_tests, read_ptau  # noqa: E402
from zkmargin.groth16.r1cs_to_qap import domain_log_size  # noqa: E402
from zkmargin.r1cs.circom import r1cs_to_bytes  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


def _timed(function: Callable[..., T], *args: Any) -> tuple[T, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def _snarkjs(command: list[str], cwd: Path, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or "rror" in done.stderr:
        raise SystemExit(f"snarkjs {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds


def bench_circuit(circuit_id: str, workdir: Path, snarkjs: list[str]) -> dict:
    """Times for one circuit."""
    backend = get_backend("arkworks")
    compiled = circuit_from_id(circuit_id).compile()
    log_n = domain_log_size(compiled)
    d = workdir / circuit_id
    d.mkdir(parents=True, exist_ok=True)
    (d / "circuit.r1cs").write_bytes(r1cs_to_bytes(compiled))
    ptau_path = workdir / f"pot{log_n}.ptau"
    if not ptau_path.exists():
        data, seconds = _timed(insecure_ptau_for_tests, log_n, random.Random(log_n), backend)
        ptau_path.write_bytes(data)
        print(f"  made {ptau_path.name} in {seconds:.1f} s", file=sys.stderr)
    ptau = read_ptau(ptau_path.read_bytes())
    initial, new_s = _timed(zk_mod.new_zkey, compiled, ptau, backend)
    (d / "k0.zkey").write_bytes(zk_mod.zkey_to_bytes(initial, backend))
    snark_new_s = _snarkjs(snarkjs, d, "zkey", "new", "circuit.r1cs", str(ptau_path), "k0s.zkey")
    if (d / "k0s.zkey").read_bytes() != (d / "k0.zkey").read_bytes():
        raise SystemExit("our zkey new differs from snarkjs's")

    def ours_contribute() -> None:
        """Read, contribute, write: what the CLI does."""
        key = zk_mod.zkey_from_bytes((d / "k0.zkey").read_bytes(), backend)
        new, _ = zk_mod.contribute(key, "ours", "bench", None, backend)
        (d / "k1.zkey").write_bytes(zk_mod.zkey_to_bytes(new, backend))

    _, contribute_s = _timed(ours_contribute)
    snark_contribute_s = _snarkjs(snarkjs, d, "zkey", "contribute", "k0.zkey", "k1s.zkey", "--name=snarkjs", "-e=b")

    def ours_verify() -> None:
        key = zk_mod.zkey_from_bytes((d / "k1.zkey").read_bytes(), backend)
        result = zk_mod.verify_zkey(compiled, read_ptau(ptau_path.read_bytes()), key, backend)
        if not result.valid:
            raise SystemExit(f"our verify rejected our key: {result.problem}")

    _, verify_s = _timed(ours_verify)
    snark_verify_s = _snarkjs(snarkjs, d, "zkey", "verify", "circuit.r1cs", str(ptau_path), "k1.zkey")
    return {
        "circuit_id": circuit_id, "constraints": compiled.num_constraints, "wires": compiled.num_variables,
        "domain_log": log_n,
        "new_s": {"ours": round(new_s, 3), "snarkjs": round(snark_new_s, 3)},
        "contribute_s": {"ours": round(contribute_s, 3), "snarkjs": round(snark_contribute_s, 3),
                         "ratio": round(contribute_s / snark_contribute_s, 3)},
        "verify_s": {"ours": round(verify_s, 3), "snarkjs": round(snark_verify_s, 3),
                     "ratio": round(verify_s / snark_verify_s, 3)},
    }


def acceptance(circuit_id: str, workdir: Path, snarkjs: list[str]) -> dict:
    """The acceptance run; raises SystemExit on the first failure."""
    from zkmargin.groth16 import verify
    from zkmargin.groth16.prover import prove_zkey
    from zkmargin.groth16.serialization import proof_to_json, public_inputs_to_json, vk_to_json

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from cross import market

    backend = get_backend("arkworks")
    circuit = circuit_from_id(circuit_id)
    compiled = circuit.compile()
    log_n = domain_log_size(compiled)
    d = workdir / circuit_id
    d.mkdir(parents=True, exist_ok=True)
    (d / "circuit.r1cs").write_bytes(r1cs_to_bytes(compiled))
    ptau_path = workdir / f"pot{log_n}.ptau"
    if not ptau_path.exists():
        ptau_path.write_bytes(insecure_ptau_for_tests(log_n, random.Random(log_n), backend))
    ptau = read_ptau(ptau_path.read_bytes())
    steps: dict[str, float] = {}
    key, steps["new_s"] = _timed(zk_mod.new_zkey, compiled, ptau, backend)
    (key, _), steps["ours_1_s"] = _timed(zk_mod.contribute, key, "ours-1", "acceptance", None, backend)
    (d / "a1.zkey").write_bytes(zk_mod.zkey_to_bytes(key, backend))
    steps["snarkjs_2_s"] = _snarkjs(snarkjs, d, "zkey", "contribute", "a1.zkey", "a2.zkey", "--name=snarkjs-2", "-e=x")
    key = zk_mod.zkey_from_bytes((d / "a2.zkey").read_bytes(), backend)
    (key, _), steps["ours_3_s"] = _timed(zk_mod.contribute, key, "ours-3", "acceptance", None, backend)
    (key, _), steps["beacon_s"] = _timed(zk_mod.beacon, key, "ab" * 32, 10, "beacon", backend)
    (d / "final.zkey").write_bytes(zk_mod.zkey_to_bytes(key, backend))
    result, steps["ours_verify_s"] = _timed(zk_mod.verify_zkey, compiled, ptau, key, backend)
    if not result.valid:
        raise SystemExit(f"our zkey verify rejected the ceremony: {result.problem}")
    steps["snarkjs_verify_s"] = _snarkjs(snarkjs, d, "zkey", "verify", "circuit.r1cs", str(ptau_path), "final.zkey")
    pk = zk_mod.proving_key(key, compiled, backend)
    snapshot, account = market(circuit.n_positions, circuit.n_collateral, random.Random(5))
    witness = circuit.witness(account, snapshot, 424242)
    public = circuit.public_inputs(snapshot, circuit.commitment(witness), 7)
    proof, steps["prove_s"] = _timed(prove_zkey, pk, compiled, circuit.witness_assignment(public, witness), None,
                                     backend)
    if not verify(pk.vk, public.as_list(), proof, backend):
        raise SystemExit("our verifier rejected the proof from the final key")
    (d / "vk.json").write_text(json.dumps(vk_to_json(pk.vk, backend)))
    (d / "proof.json").write_text(json.dumps(proof_to_json(proof, backend)))
    (d / "public.json").write_text(json.dumps(public_inputs_to_json(public.as_list())))
    steps["snarkjs_groth16_verify_s"] = _snarkjs(snarkjs, d, "groth16", "verify", "vk.json", "public.json",
                                                 "proof.json")
    return {"circuit_id": circuit_id, "contributions": [c.name for c in key.contributions],
            "accepted_by": ["zkmargin zkey verify", "snarkjs zkey verify"],
            "proof_accepted_by": ["zkmargin", "snarkjs groth16 verify"],
            "seconds": {k: round(v, 3) for k, v in steps.items()}}


def main() -> None:
    """Run, print the table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuits", nargs="+", default=["cross-n64-k8", "isolated-n64-k8"])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/zkmargin-bench-ceremony"))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--acceptance", action="store_true", help="Run the acceptance ceremony instead of timing.")
    args = parser.parse_args()
    snarkjs = snarkjs_command()
    if snarkjs is None:
        raise SystemExit("snarkjs is needed: npm install --prefix .ci/npm snarkjs@0.7.6")
    results = Path(__file__).parent / "results"
    if args.acceptance:
        report = acceptance(args.circuits[0], args.workdir, snarkjs)
        print(json.dumps(report, indent=1))
        out = args.out or results / "ceremony_acceptance.json"
        out.write_text(json.dumps(report, indent=1) + "\n")
        print(f"written to {out}")
        return
    rows = [bench_circuit(c, args.workdir, snarkjs) for c in args.circuits]
    print(f"{'circuit':<18}{'constraints':>12}{'domain':>8}{'op':>12}{'ours s':>10}{'snarkjs s':>11}{'ratio':>8}")
    for row in rows:
        for op in ("contribute", "verify"):
            t = row[f"{op}_s"]
            print(f"{row['circuit_id']:<18}{row['constraints']:>12}{'2^' + str(row['domain_log']):>8}{op:>12}"
                  f"{t['ours']:>10.2f}{t['snarkjs']:>11.2f}{t['ratio']:>8.2f}")
    out = args.out or results / "ceremony.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": platform.platform(), "processor": platform.processor(),
                                    "note": "one run on a shared 2-core machine; compare ratios",
                                    "results": rows}, indent=1) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
