"""Coalesced single verifications: one batch check and one commit per job, each request its own outcome."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tests.verifier_service.conftest import CIRCUIT, Material, admin_headers, make_client, new_key, publish, verify_body
from zkmargin.errors import UnattestedError
from zkmargin.verifier_service import verification
from zkmargin.verifier_service.coalesce import Coalescer
from zkmargin.verifier_service.errors import UnknownCircuit
from zkmargin.verifier_service.repository import ReceiptRecord
from zkmargin.verifier_service.schemas import VerifyRequest

HANG_GUARD_POLLS = 3000
"""Polls of 10 ms before a test that waits for a queue to fill gives up (a hang, not a speed bound)."""


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(HANG_GUARD_POLLS):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


def test_a_lone_item_runs_at_once_and_queued_items_run_as_one_job():
    """No window: the first item starts alone; what queues behind a busy slot goes in the next job, in order."""
    gate, jobs = threading.Event(), []

    def run_many(items: list[int]) -> list[int]:
        jobs.append(list(items))
        gate.wait()
        return [item * 10 for item in items]

    with ThreadPoolExecutor(max_workers=1) as pool:
        coalescer = Coalescer(run_many, lambda: pool, slots=1)

        async def scenario() -> list[int]:
            first = asyncio.ensure_future(coalescer.submit(1))
            await _until(lambda: jobs == [[1]])  # started before anything else was submitted
            rest = [asyncio.ensure_future(coalescer.submit(n)) for n in (2, 3, 4)]
            await _until(lambda: len(coalescer.pending) == 3)
            gate.set()
            return await asyncio.gather(first, *rest)

        try:
            assert asyncio.run(scenario()) == [10, 20, 30, 40]
        finally:
            gate.set()
    assert jobs == [[1], [2, 3, 4]]
    assert coalescer.jobs == 2


def test_each_item_gets_its_own_outcome_and_a_failing_job_fails_all_of_its_items():
    gate = threading.Event()

    def run_many(items: list[int]) -> list[object]:
        gate.wait()
        if 0 in items:
            raise RuntimeError("the job broke")
        return [ValueError(f"bad {item}") if item % 2 else item for item in items]

    with ThreadPoolExecutor(max_workers=1) as pool:
        coalescer = Coalescer(run_many, lambda: pool, slots=1, max_items=2)

        async def outcome(item: int) -> object:
            try:
                return await coalescer.submit(item)
            except Exception as exc:  # noqa: BLE001 - the outcome under test
                return exc

        async def scenario() -> list[object]:
            first = asyncio.ensure_future(outcome(2))
            await _until(lambda: coalescer.running == 1)
            rest = [asyncio.ensure_future(outcome(item)) for item in (3, 4, 0, 6)]
            await _until(lambda: len(coalescer.pending) == 4)
            gate.set()
            return await asyncio.gather(first, *rest)

        try:
            outcomes = asyncio.run(scenario())
        finally:
            gate.set()
    # Jobs [2], [3, 4], [0, 6] (at most two items a job).
    assert outcomes[0] == 2 and outcomes[2] == 4
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "bad 3"
    assert isinstance(outcomes[3], RuntimeError) and isinstance(outcomes[4], RuntimeError)
    assert coalescer.jobs == 3


def _ready(client: TestClient, material: Material) -> None:
    venue = new_key(client, "venue")
    assert client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                       headers=admin_headers()).status_code == 201
    assert publish(client, material.snapshot_json, venue).status_code == 201


def test_coalesced_requests_each_get_their_own_verdict_from_one_batch_check(ready, material, batch_sizes):
    """A wrong proof among good ones is invalid alone; unknown ids and refusals raise for their request only."""
    client, _ = ready
    state = client.app.state.service
    good = VerifyRequest(**verify_body(material))
    wrong_context = VerifyRequest(**verify_body(material, context=str(material.context + 1)))
    unknown = VerifyRequest(**verify_body(material, circuit_id="cross-n6-k5"))
    unattested = VerifyRequest(**verify_body(material, attestation=None))
    outcomes = verification.verify_many_and_record(state, [good, wrong_context, unknown, good, unattested])
    assert batch_sizes == [3]  # the three well-formed, attested requests in one weighted check
    assert [outcomes[i].valid for i in (0, 1, 3)] == [True, False, True]
    assert isinstance(outcomes[2], UnknownCircuit) and isinstance(outcomes[4], UnattestedError)
    for index in (0, 1, 3):
        stored = client.get(f"/v1/receipts/{outcomes[index].receipt_id}").json()
        assert stored["valid"] is outcomes[index].valid and stored["context"] == outcomes[index].context


def test_coalesced_requests_over_http_get_their_own_answers(ready, material):
    """Concurrent requests through the app: a bad proof among them is a 200 invalid, a refusal its 422."""
    client, _ = ready
    bodies = [verify_body(material), verify_body(material, context=str(material.context + 1)),
              verify_body(material, attestation=None)] * 4
    with client, ThreadPoolExecutor(max_workers=len(bodies)) as senders:
        responses = list(senders.map(lambda body: client.post("/v1/verify", json=body), bodies))
    for response, expected in zip(responses, [(200, True), (200, False), (422, None)] * 4):
        assert response.status_code == expected[0], response.text
        if expected[1] is not None:
            assert response.json()["valid"] is expected[1]
        else:
            assert response.json()["error"]["code"] == "attestation_refused"


def test_group_commit_answers_no_request_before_its_receipts_are_committed(tmp_path, material, monkeypatch):
    """One pool thread: the first request alone, the four queued behind it in one transaction; none is answered
    while its transaction is held open."""
    client = make_client(tmp_path, worker_threads=1)
    _ready(client, material)
    state = client.app.state.service
    gate, commits = threading.Event(), []
    original = state.repository.insert_receipts

    def held_commit(receipts: Iterable[ReceiptRecord]) -> None:
        receipts = list(receipts)
        commits.append(len(receipts))
        gate.wait()
        return original(receipts)

    monkeypatch.setattr(state.repository, "insert_receipts", held_commit)
    body = VerifyRequest(**verify_body(material))

    async def scenario() -> list:
        first = asyncio.ensure_future(state.verifications.submit(body))
        await _until(lambda: commits == [1])
        rest = [asyncio.ensure_future(state.verifications.submit(body)) for _ in range(4)]
        await _until(lambda: len(state.verifications.pending) == 4)
        await asyncio.sleep(0.05)  # room for a premature answer to arrive, were there one
        assert not first.done(), "answered before its receipt was committed"
        gate.set()
        await _until(lambda: commits == [1, 4])
        return await asyncio.gather(first, *rest)

    try:
        receipts = asyncio.run(scenario())
    finally:
        gate.set()
        state.pool.shutdown(wait=True)
    assert commits == [1, 4]
    assert all(receipt.valid for receipt in receipts)
    assert all(state.repository.receipt(receipt.receipt_id) is not None for receipt in receipts)


def test_a_failed_commit_fails_every_request_of_its_job_and_answers_none_valid(ready, material, monkeypatch):
    """The database refusing the job's transaction is each request's 503; no receipt id is handed out."""
    from zkmargin.verifier_service.storage import StorageUnavailable

    client, _ = ready
    state = client.app.state.service

    def unavailable(receipts: Iterable[ReceiptRecord]) -> None:
        raise StorageUnavailable("database unavailable: disk I/O error")

    monkeypatch.setattr(state.repository, "insert_receipts", unavailable)
    outcomes = verification.verify_many_and_record(state, [VerifyRequest(**verify_body(material))] * 3)
    assert all(isinstance(outcome, StorageUnavailable) for outcome in outcomes)
    response = client.post("/v1/verify", json=verify_body(material))
    assert response.status_code == 503 and "receipt_id" not in response.json()


def test_the_running_app_keeps_its_startup_objects_out_of_full_collections(tmp_path):
    """Frozen while serving (a full collection walked them all: 50-75 ms pauses), unfrozen after shutdown."""
    import gc

    client = make_client(tmp_path)
    with client:
        assert gc.get_freeze_count() > 0
        assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() == 0
