"""Trader commands that need no keys: margin (health report), commit (commitment + opening), account new-identity."""

from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from zkmargin.circuits.registry import DEFAULT_CIRCUIT_ID, MODEL_NAMES, circuit_from_id, get_model
from zkmargin.cli.output import EXIT_NO, emit, json_option, write_json
from zkmargin.errors import EncodingError, FormatError, MarginCallError
from zkmargin.gadgets.merkle import check_identity_secret, identity_commitment, new_identity_secret
from zkmargin.margin.commitment import new_salt
from zkmargin.margin.models import (
    Account,
    Snapshot,
    load_account,
    load_snapshot,
    validate_account_against_snapshot,
)

if TYPE_CHECKING:
    from collections.abc import Callable

OPENING_FORMAT = "zkmargin-opening/1"
IDENTITY_FORMAT = "zkmargin-identity/1"

account_argument = click.argument("account_path", metavar="ACCOUNT", type=click.Path(path_type=Path))
snapshot_argument = click.argument("snapshot_path", metavar="SNAPSHOT", type=click.Path(path_type=Path))


def load_account_for(account_path: Path, snapshot: Snapshot) -> Account:
    """The account file, checked against the snapshot: an unknown asset or instrument names the account's file."""
    account = load_account(account_path)
    try:
        validate_account_against_snapshot(account, snapshot)
    except FormatError as exc:
        raise FormatError(f"account {account_path}: {exc}") from None
    return account


def circuit_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--circuit <model>-n<N>-k<K> and --model <model>, merged into one circuit_id argument."""

    @functools.wraps(command)
    def merged(*args: Any, circuit_id: str, model: str | None, **kwargs: Any) -> Any:
        if model is not None:
            base, member, depth = circuit_id.rpartition("-m")
            if not (member and depth.isdigit()):
                base, depth = circuit_id, ""
            _, _, capacity = base.partition("-")
            capacity = capacity.split("-t")[0].split("-s")[0]
            circuit_id = get_model(model).circuit_id(capacity) + (f"-m{depth}" if depth else "")
        return command(*args, circuit_id=circuit_id, **kwargs)

    merged = click.option("--model", type=click.Choice(MODEL_NAMES), default=None,
                          help="Margin model (overrides the model part of --circuit).")(merged)
    return click.option(
        "--circuit", "circuit_id", default=DEFAULT_CIRCUIT_ID, show_default=True,
        help="Statement and capacity: <model>-n<positions>-k<collateral assets> (tiered: -t<brackets>, var/es: "
             "-s<scenarios>), plus -m<depth> for membership mode.",
    )(merged)


POSITION_FIELDS = ("quantity", "tier", "notional", "isolated_allocation", "upnl", "maintenance", "excess",
                   "worst_scenario_loss", "short_option_minimum")


MAX_LISTED_SCENARIOS = 40
HISTOGRAM_BINS = 12


def render_scenario_losses(report_json: dict) -> list[str]:
    """VaR / ES: every scenario loss, worst first with the k that count marked; a histogram when there are many."""
    model, k = report_json["model"], report_json["k"]
    losses = sorted(((Decimal(v), s) for s, v in enumerate(report_json["scenario_losses"], 1)), key=lambda x: -x[0])
    mark = {"var": f"<- k = {k}: the VaR", "es": f"<- k = {k}: the ES is the mean of ranks 1..{k}"}[model]

    def row(rank: int, loss: Decimal, scenario: int) -> str:
        # ES averages the k worst; VaR is the k-th worst alone (the k - 1 above it may exceed it).
        tail = "*" if (rank <= k if model == "es" else rank == k) else " "
        note = f"  {mark}" if rank == k else ""
        return f"  {tail} {rank:>5} {scenario:>9} {loss:>22}{note}"

    header = "    rank  scenario                   loss   (* sets the requirement)"
    if len(losses) <= MAX_LISTED_SCENARIOS:
        return ["scenario losses, worst first (scenarios numbered from 1):", header,
                *(row(rank, loss, s) for rank, (loss, s) in enumerate(losses, 1))]
    lines = [f"the {k} worst scenario losses (scenarios numbered from 1):", header,
             *(row(rank, loss, s) for rank, (loss, s) in enumerate(losses[:k], 1))]
    low, high = losses[-1][0], losses[0][0]
    width = (high - low) / HISTOGRAM_BINS or Decimal(1)
    counts = [0] * HISTOGRAM_BINS
    for loss, _ in losses:
        counts[min(HISTOGRAM_BINS - 1, int((loss - low) / width))] += 1
    kth = losses[k - 1][0]
    kth_bin = min(HISTOGRAM_BINS - 1, int((kth - low) / width))
    scale = max(counts) / 40 if max(counts) > 40 else 1
    lines.append(f"histogram of all {len(losses)} scenario losses (k-th largest, {kth}, in the bin marked <-):")
    for b in range(HISTOGRAM_BINS - 1, -1, -1):
        start = low + width * b
        bar = "#" * max(1 if counts[b] else 0, round(counts[b] / scale))
        lines.append((f"  {start:>16.2f} .. {start + width:>16.2f} {counts[b]:>6} {bar}" + ("  <-" if b == kth_bin else "")).rstrip())
    return lines


def render_report(report_json: dict) -> str:
    """Human-readable margin report of any model."""
    # VaR / ES require max(0, risk) + add-on: not a maintenance margin, so the text says requirement.
    requirement_label = "requirement: " if "k" in report_json else "maintenance: "
    lines = [
        f"model:        {report_json.get('model', 'cross')}",
        f"status:       {report_json['status']}",
        f"equity:       {report_json['equity']}",
        f"{requirement_label} {report_json['maintenance']}",
        f"excess:       {report_json['excess']}",
        f"margin ratio: {report_json['margin_ratio'] if report_json['margin_ratio'] is not None else 'n/a'}",
    ]
    if "pool" in report_json:
        lines.append(f"cross pool:   equity {report_json['pool']['equity']}, maintenance {report_json['pool']['maintenance']}")
    if "worst_scenario" in report_json:
        worst = report_json["worst_scenario"]
        lines.append(f"worst scenario: [{worst}] of 0..{len(report_json['scenario_losses']) - 1}, "
                     f"loss {report_json['scenario_losses'][worst]}; "
                     f"short option minimum {report_json['short_option_minimum']}")
    if "k" in report_json:
        lines.append(f"{report_json['model']}: {report_json[report_json['model']]} (k = {report_json['k']} of "
                     f"{report_json['scenario_count']} scenarios, add-on {report_json['add_on']}, "
                     f"worst scenario {report_json['worst_loss_scenario']})")
        lines.extend(render_scenario_losses(report_json))
        if report_json.get("positions"):
            lines.append(f"positions (worst_scenario_loss: the position's own loss in scenario "
                         f"{report_json['worst_loss_scenario']}):")
    if report_json.get("failure"):
        lines.append(f"failing check: {report_json['failure']}")
    for position in report_json.get("positions", []):
        fields = "  ".join(f"{name} {position[name]}" for name in POSITION_FIELDS if name in position)
        lines.append(f"  {position['instrument']:<14} {fields}")
    return "\n".join(lines)


def model_report(model: str, account: Account, snapshot: Snapshot) -> tuple[bool, dict]:
    """(healthy, JSON report) from the model's reference engine (circuits/registry.py)."""
    return get_model(model).report(account, snapshot)


def require_healthy(circuit_id: str, account: Account, snapshot: Snapshot) -> None:
    """Raise MarginCallError (with both figures) when the circuit's model says margin call."""
    healthy, report_json = model_report(circuit_id.split("-", 1)[0], account, snapshot)
    if not healthy:
        raise MarginCallError(f"account is subject to a margin call: equity {report_json['equity']} "
                              f"< maintenance {report_json['maintenance']}")


@click.command()
@account_argument
@snapshot_argument
@click.option("--model", type=click.Choice(MODEL_NAMES), default="cross", show_default=True, help="Margin model.")
@json_option
def margin(account_path: Path, snapshot_path: Path, model: str, as_json: bool) -> None:
    """Compute equity, maintenance margin and status of ACCOUNT under SNAPSHOT (exit 1 on margin call)."""
    snapshot = load_snapshot(snapshot_path)
    healthy, report_json = model_report(model, load_account_for(account_path, snapshot), snapshot)
    emit(as_json, report_json, render_report(report_json))
    if not healthy:
        raise SystemExit(EXIT_NO)


@click.command()
@account_argument
@snapshot_argument
@click.option("--opening", "opening_path", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Where to write the opening (salt); kept by the trader, mode 0600.")
@circuit_option
@json_option
def commit(account_path: Path, snapshot_path: Path, opening_path: Path, circuit_id: str, as_json: bool) -> None:
    """Commit to ACCOUNT in SNAPSHOT's slot layout: print the commitment, write the secret opening."""
    circuit = circuit_from_id(circuit_id)
    snapshot = load_snapshot(snapshot_path)
    account = load_account_for(account_path, snapshot)
    witness = circuit.witness(account, snapshot, new_salt())
    commitment = circuit.commitment(witness)
    opening = {
        "format": OPENING_FORMAT,
        "circuit_id": circuit.circuit_id,
        "account_id": account.account_id,
        "snapshot_id": snapshot.snapshot_id,
        "commitment": str(commitment),
        "salt": str(witness.salt),
    }
    # The salt is what hides the account: owner-only permissions, and never
    # overwrite an existing opening (its commitment may already be attested).
    write_json(opening_path, opening, mode=0o600, overwrite=False)
    emit(
        as_json,
        {"commitment": str(commitment), "circuit_id": circuit.circuit_id, "opening": str(opening_path)},
        f"commitment: {commitment}\nopening written to {opening_path} (keep it secret)",
    )


def load_opening(path: Path) -> dict:
    """Read and check an opening file written by `zkmargin commit`."""
    from zkmargin.circuits.proving import parse_field_element
    from zkmargin.cli.output import CliError, read_json

    opening = read_json(path, "opening")
    if not isinstance(opening, dict) or opening.get("format") != OPENING_FORMAT:
        raise CliError(f"{path} is not a zkmargin opening (format {OPENING_FORMAT})")
    for key in ("circuit_id", "commitment", "salt"):
        if not isinstance(opening.get(key), str):
            raise CliError(f"opening {path}: missing or non-string {key!r}")
    opening["commitment"] = parse_field_element(opening["commitment"], "opening commitment")
    opening["salt"] = parse_field_element(opening["salt"], "opening salt")
    return opening


@click.group("account")
def account_group() -> None:
    """The trader's long-lived identity for anonymous membership proofs."""


@account_group.command("new-identity")
@click.argument("out", metavar="SECRET_FILE", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def new_identity(out: Path, as_json: bool) -> None:
    """Write a new identity secret to SECRET_FILE (mode 0600) and print its identity, for the venue.

    The venue records the identity once for the account and binds it into every snapshot's tree;
    `zkmargin prove --identity SECRET_FILE` proves with the secret, so the account's nullifier in a
    scope is the same under every snapshot, and nobody without the secret can compute it.
    """
    secret = new_identity_secret()
    identity = identity_commitment(secret)
    # Never overwrite: the venue may already hold the old identity, and its secret would be lost.
    write_json(out, {"format": IDENTITY_FORMAT, "secret": str(secret), "identity": str(identity)}, mode=0o600,
               overwrite=False)
    emit(as_json, {"identity": str(identity), "secret_file": str(out)},
         f"identity: {identity} (hand it to the venue)\nsecret written to {out} (keep it secret, keep it forever)")


def load_identity_secret(path: Path) -> int:
    """The secret of an identity file written by `zkmargin account new-identity`; CliError when it is not one."""
    from zkmargin.circuits.proving import parse_field_element
    from zkmargin.cli.output import CliError, read_json

    doc = read_json(path, "identity secret")
    if not isinstance(doc, dict) or doc.get("format") != IDENTITY_FORMAT or not isinstance(doc.get("secret"), str):
        raise CliError(f"{path} is not a zkmargin identity secret file (format {IDENTITY_FORMAT})")
    secret = parse_field_element(doc["secret"], "identity secret")
    try:
        check_identity_secret(secret)
    except EncodingError as exc:
        raise CliError(f"{path}: {exc}") from None
    if "identity" in doc and doc["identity"] != str(identity_commitment(secret)):
        raise CliError(f"identity secret {path}: its identity is not the secret's (the file was altered)")
    return secret
