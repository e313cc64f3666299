"""The venue's identity registry: each account's membership identity, recorded once, the same in every snapshot.

A membership nullifier is Poseidon(secret, scope): the same for one account in one scope under every
snapshot only while the venue binds that account's leaf to the same identity in every tree. A venue
that took a new identity for an account in a later snapshot would give it fresh nullifiers in every
scope, so a verifier counting accounts per scope would count it twice. `venue tree` and `venue run`
each see one snapshot; this file is their memory between snapshots:

- the first time an account is seen, its identity is recorded (with the snapshot it was first seen in);
- afterwards another identity for that account is refused, and so is an identity already bound to
  another account;
- nothing is ever removed or changed: rotation is not supported (a rotated identity has fresh
  nullifiers, so scopes already used would count the account twice).

The file is JSON, mode 0600, written whole (zkmargin.files) under an exclusive lock on REGISTRY.lock;
claims checked in memory are checked again against the file as it is when they are recorded, so two
commands sharing one registry cannot record two identities for one account.

    {"format": "zkmargin-identity-registry/1", "venue": "...",
     "accounts": {"<account id>": {"identity": "<decimal>", "since": "<snapshot id>"}, ...}}
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkmargin.errors import EncodingError, IdentityRegistryError, MalformedAttestationError
from zkmargin.files import write_json
from zkmargin.gadgets.merkle import check_identity
from zkmargin.groth16.serialization import parse_decimal
from zkmargin.venue.attestation import check_identifier

REGISTRY_FORMAT = "zkmargin-identity-registry/1"


@dataclass(frozen=True)
class Binding:
    """An account's identity and the snapshot in which the registry first saw it."""

    identity: int
    since: str


class IdentityRegistry:
    """A registry file read into memory, plus the claims accepted since (recorded by save())."""

    def __init__(self, path: Path, venue: str, bindings: dict[str, Binding]) -> None:
        self.path = Path(path)
        self.venue = venue
        self._bindings = dict(bindings)
        self._owners = {b.identity: account for account, b in bindings.items()}
        self._new: dict[str, tuple[str, Binding]] = {}

    @classmethod
    def load(cls, path: Path | str, venue: str) -> IdentityRegistry:
        """The registry at path for venue (empty when the file does not exist yet); IdentityRegistryError when
        the file is damaged or another venue's."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return cls(path, venue, {})
        except OSError as exc:
            raise IdentityRegistryError(f"identity registry {path}: cannot read it ({exc.strerror})") from None
        file_venue, bindings = _parse(path, data)
        if file_venue != venue:
            raise IdentityRegistryError(f"identity registry {path} is venue {file_venue!r}'s, not {venue!r}'s")
        return cls(path, venue, bindings)

    def __len__(self) -> int:
        return len(self._bindings)

    def get(self, account_id: str) -> Binding | None:
        """The identity bound to account_id, or None when the registry has not seen the account."""
        return self._bindings.get(account_id)

    @property
    def added(self) -> dict[str, Binding]:
        """The accounts claimed since load and not yet in the file: what save() records."""
        return {account: binding for account, (_, binding) in self._new.items()}

    def refusal(self, account_id: str, identity: int) -> str | None:
        """Why claim() would refuse binding account_id to identity (naming the registry), or None."""
        return _refusal(self._bindings, self._owners, account_id, identity, self.path)

    def claim(self, where: str, account_id: str, identity: int, snapshot_id: str) -> None:
        """Accept (in memory) that account_id's identity is identity, or raise IdentityRegistryError naming where.

        A claim the registry already holds changes nothing; a new account is bound from snapshot_id on.
        """
        refusal = self.refusal(account_id, identity)
        if refusal is not None:
            raise IdentityRegistryError(f"{where}: {refusal}")
        if account_id not in self._bindings:
            binding = Binding(identity, snapshot_id)
            self._bindings[account_id] = binding
            self._owners[identity] = account_id
            self._new[account_id] = (where, binding)

    def save(self) -> int:
        """Record the claims accepted since load; how many accounts were new to the file.

        Under the registry's lock the file is read again and every claim checked against it as it is
        now (another command may have recorded accounts meanwhile): a claim that no longer holds raises
        IdentityRegistryError and nothing is written. The file is replaced whole or not at all.
        """
        if not self._new:
            return 0
        with _locked(self.path):
            current = IdentityRegistry.load(self.path, self.venue)
            added = 0
            for account_id, (where, binding) in self._new.items():
                refusal = _refusal(current._bindings, current._owners, account_id, binding.identity, self.path)
                if refusal is not None:
                    raise IdentityRegistryError(f"{where}: {refusal} (recorded since this command read the registry; "
                                                "nothing was recorded)")
                if account_id not in current._bindings:
                    current._bindings[account_id] = binding
                    current._owners[binding.identity] = account_id
                    added += 1
            if added:
                write_json(self.path, current.to_json(), mode=0o600)
        self._new.clear()
        return added

    def to_json(self) -> dict[str, Any]:
        """The file's JSON object (accounts sorted by id)."""
        return {"format": REGISTRY_FORMAT, "venue": self.venue,
                "accounts": {a: {"identity": str(b.identity), "since": b.since}
                             for a, b in sorted(self._bindings.items())}}


def _refusal(bindings: dict[str, Binding], owners: dict[int, str], account_id: str, identity: int,
             path: Path) -> str | None:
    """Why binding account_id to identity breaks the registry's record, or None."""
    known = bindings.get(account_id)
    if known is not None and known.identity != identity:
        return (f"account {account_id!r} has identity {identity}, but the identity registry {path} recorded "
                f"{known.identity} for it (since snapshot {known.since!r}); a new identity would give the account "
                "fresh nullifiers in every scope, counting it twice: identities are not rotated")
    owner = owners.get(identity)
    if owner is not None and owner != account_id:
        return (f"identity {identity} of account {account_id!r} is account {owner!r}'s in the identity registry "
                f"{path} (since snapshot {bindings[owner].since!r}); each account needs its own")
    return None


def _parse(path: Path, data: bytes) -> tuple[str, dict[str, Binding]]:
    def damaged(why: str) -> IdentityRegistryError:
        return IdentityRegistryError(f"identity registry {path} is damaged ({why}); it is never rewritten from "
                                     "scratch: restore it from a copy")

    def no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"key {next(k for k in keys if keys.count(k) > 1)!r} appears twice")
        return dict(pairs)

    try:
        doc = json.loads(data, object_pairs_hook=no_repeats)
    except (ValueError, RecursionError) as exc:
        raise damaged(f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != REGISTRY_FORMAT:
        raise damaged(f"format is not {REGISTRY_FORMAT}")
    venue, accounts = doc.get("venue"), doc.get("accounts")
    if not isinstance(venue, str) or not isinstance(accounts, dict):
        raise damaged("it needs a venue and an accounts object")
    bindings: dict[str, Binding] = {}
    owners: dict[int, str] = {}
    for account_id, entry in accounts.items():
        try:
            check_identifier(account_id, "account_id")
            if not isinstance(entry, dict) or not isinstance(entry.get("since"), str):
                raise EncodingError("needs an identity and the snapshot id it was first seen in")
            identity = check_identity(parse_decimal(entry.get("identity"), "identity"))
        except (EncodingError, MalformedAttestationError) as exc:
            raise damaged(f"account {account_id!r}: {exc}") from None
        if identity in owners:
            raise damaged(f"identity {identity} is bound to both {owners[identity]!r} and {account_id!r}")
        owners[identity] = account_id
        bindings[account_id] = Binding(identity, entry["since"])
    return venue, bindings


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on path.lock (next to the registry) for the read-check-write of save()."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
