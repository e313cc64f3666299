"""The venue's identity registry (review of issue 22 item 2): an account's identity is recorded the first time it is
seen and never changes; another identity for it, or its identity for another account, is refused. Without it a
venue could bind an account to a new identity in a later snapshot, giving it fresh nullifiers in every scope."""

from __future__ import annotations

import json
import stat

import pytest

from zkmargin.errors import IdentityRegistryError
from zkmargin.gadgets.merkle import identity_commitment
from zkmargin.venue.identity_registry import REGISTRY_FORMAT, Binding, IdentityRegistry

A, B, C = (identity_commitment(secret) for secret in (11, 12, 13))


@pytest.fixture
def recorded(tmp_path):
    """A registry with alice and bob recorded under snapshot s1."""
    path = tmp_path / "identities.json"
    registry = IdentityRegistry.load(path, "v1")
    registry.claim("r:1", "alice", A, "s1")
    registry.claim("r:2", "bob", B, "s1")
    assert registry.save() == 2
    return path


def test_first_claims_are_recorded_privately_with_their_snapshot(recorded):
    assert stat.S_IMODE(recorded.stat().st_mode) == 0o600
    doc = json.loads(recorded.read_text())
    assert doc == {"format": REGISTRY_FORMAT, "venue": "v1",
                   "accounts": {"alice": {"identity": str(A), "since": "s1"},
                                "bob": {"identity": str(B), "since": "s1"}}}
    again = IdentityRegistry.load(recorded, "v1")
    assert again.get("alice") == Binding(A, "s1") and again.get("carol") is None


def test_the_same_identities_in_a_later_snapshot_pass_and_change_nothing(recorded):
    before = recorded.read_bytes()
    registry = IdentityRegistry.load(recorded, "v1")
    registry.claim("r:1", "alice", A, "s2")
    registry.claim("r:2", "bob", B, "s2")
    assert registry.added == {} and registry.save() == 0
    assert recorded.read_bytes() == before
    registry.claim("r:3", "carol", C, "s2")
    assert registry.save() == 1
    assert IdentityRegistry.load(recorded, "v1").get("carol") == Binding(C, "s2")
    assert IdentityRegistry.load(recorded, "v1").get("alice") == Binding(A, "s1")  # since stays the first snapshot


@pytest.mark.parametrize("account, identity, message", [
    ("alice", C, "account 'alice' has identity {C}, but the identity registry"),
    ("carol", A, "identity {A} of account 'carol' is account 'alice''s"),
    ("bob", A, "account 'bob' has identity {A}"),
])
def test_a_changed_or_moved_identity_is_refused_naming_the_line(recorded, account, identity, message):
    before = recorded.read_bytes()
    registry = IdentityRegistry.load(recorded, "v1")
    with pytest.raises(IdentityRegistryError, match="^requests.jsonl:7: ") as caught:
        registry.claim("requests.jsonl:7", account, identity, "s2")
    assert message.format(A=A, C=C) in str(caught.value) and "since snapshot 's1'" in str(caught.value)
    assert registry.save() == 0 and recorded.read_bytes() == before


def test_claims_within_one_command_are_held_to_each_other(tmp_path):
    registry = IdentityRegistry.load(tmp_path / "r.json", "v1")
    registry.claim("r:1", "alice", A, "s1")
    with pytest.raises(IdentityRegistryError, match="r:2: account 'alice'"):
        registry.claim("r:2", "alice", B, "s1")
    with pytest.raises(IdentityRegistryError, match="r:3: identity .* is account 'alice''s"):
        registry.claim("r:3", "bob", A, "s1")


def test_a_claim_recorded_elsewhere_meanwhile_is_refused_at_save_and_nothing_is_written(recorded):
    """Two commands read the registry; the first records carol as C; the second's claim of C for dave (or of
    another identity for carol) no longer holds when it saves: refused, the file is the first one's."""
    first, second = IdentityRegistry.load(recorded, "v1"), IdentityRegistry.load(recorded, "v1")
    first.claim("a:1", "carol", C, "s2")
    second.claim("b:1", "dave", C, "s2")
    second.claim("b:2", "erin", identity_commitment(14), "s2")
    assert first.save() == 1
    written = recorded.read_bytes()
    with pytest.raises(IdentityRegistryError, match="b:1: identity .* is account 'carol''s .* nothing was recorded"):
        second.save()
    assert recorded.read_bytes() == written
    assert IdentityRegistry.load(recorded, "v1").get("erin") is None


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ("", "not valid JSON"),
    ('{"format": "other", "venue": "v1", "accounts": {}}', "format"),
    (f'{{"format": "{REGISTRY_FORMAT}", "venue": "v1"}}', "accounts"),
    (f'{{"format": "{REGISTRY_FORMAT}", "venue": "v1", "accounts": {{"a": {{"identity": "{A}", "since": "s1"}}, '
     f'"a": {{"identity": "{B}", "since": "s1"}}}}}}', "'a' appears twice"),
    (f'{{"format": "{REGISTRY_FORMAT}", "venue": "v1", "accounts": {{"a": {{"identity": "{A}", "since": "s1"}}, '
     f'"b": {{"identity": "{A}", "since": "s1"}}}}}}', "bound to both"),
    (f'{{"format": "{REGISTRY_FORMAT}", "venue": "v1", "accounts": {{"a": {{"identity": "0", "since": "s1"}}}}}}',
     "0 is no trader's identity"),
    (f'{{"format": "{REGISTRY_FORMAT}", "venue": "v1", "accounts": {{"a": {{"identity": "{A}"}}}}}}', "snapshot id"),
    (f'{{"format": "{REGISTRY_FORMAT}", "venue": "v1", "accounts": {{" a": {{"identity": "{A}", "since": "s"}}}}}}',
     "account_id"),
])
def test_a_damaged_registry_is_refused(tmp_path, content, message):
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(IdentityRegistryError, match="damaged") as caught:
        IdentityRegistry.load(path, "v1")
    assert message in str(caught.value)


def test_another_venues_registry_is_refused(recorded):
    with pytest.raises(IdentityRegistryError, match="is venue 'v1''s, not 'v2''s"):
        IdentityRegistry.load(recorded, "v2")
