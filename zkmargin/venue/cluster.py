"""The Dask side of a venue run: the cluster, the proving key once per worker, chunked tasks, batch verification.

- dask_client: a LocalCluster (one single-threaded worker process per core) or any scheduler by address;
- the proving key travels once to each worker inside a worker plugin (also to a worker that
  replaces a dead one), never with a task, and is decoded once per worker process;
- map_chunks: one task per chunk, with retries; a chunk whose worker died is rescheduled by Dask.
Batch verification over the cluster is the snapshot verifier's verify_on_cluster (one layer up): verdicts are
decided there, never here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from zkmargin.errors import ClusterError, ZkMarginError


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None,
                processes: bool = True) -> Iterator[Any]:
    """A Client on the scheduler at address, else on a LocalCluster of single-threaded workers (one per core)."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler)
        except (OSError, ValueError, TypeError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
        with client:
            yield client
        return
    n_workers = workers or os.cpu_count() or 1
    # One thread per worker: proving is CPU-bound and holds the GIL in places, so processes give the parallelism.
    # Worker processes talk over loopback TCP; in-process workers over Dask's in-memory transport.
    where = {"host": "127.0.0.1"} if processes else {}
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes, dashboard_address=None,
                      silence_logs=logging.ERROR, **where) as cluster, Client(cluster) as client:
        yield client


class ProvingKeyPlugin(WorkerPlugin):
    """A worker plugin carrying the serialized proving key: sent once to each worker, also to workers that join later.

    The key is decoded on first use in each worker process and kept there, so tasks carry only accounts.
    """

    def __init__(self, name: str, pk_bytes: bytes, backend_name: str) -> None:
        self.name = name
        self.pk_bytes = pk_bytes
        self.backend_name = backend_name
        self._pk: Any = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"name": self.name, "pk_bytes": self.pk_bytes, "backend_name": self.backend_name}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["name"], state["pk_bytes"], state["backend_name"])  # type: ignore[misc]

    def proving_key(self) -> Any:
        """The decoded ProvingKey (decoded once per worker process)."""
        with self._lock:
            if self._pk is None:
                from zkmargin.backends import get_backend
                from zkmargin.groth16.serialization import pk_from_bytes

                # The driver loaded (and subgroup-checked) these bytes before handing them out.
                self._pk = pk_from_bytes(self.pk_bytes, get_backend(self.backend_name), subgroup_check=False)
            return self._pk


def install_proving_key(client: Any, pk_bytes: bytes, backend_name: str) -> str:
    """Register the proving key as a worker plugin (once per worker); returns the name tasks look it up by."""
    name = "zkmargin-proving-key-" + hashlib.sha256(pk_bytes).hexdigest()[:16]
    client.register_plugin(ProvingKeyPlugin(name, pk_bytes, backend_name), name=name)
    return name


def worker_proving_key(plugin_name: str) -> Any:
    """Inside a task: the proving key installed by install_proving_key on this worker."""
    plugin = get_worker().plugins.get(plugin_name)
    if not isinstance(plugin, ProvingKeyPlugin):
        raise ZkMarginError(f"worker has no proving key plugin {plugin_name!r}")
    return plugin.proving_key()


def map_chunks(client: Any, function: Callable, chunk_list: Sequence[list], *args: Any,
               retries: int = 2) -> Iterator[tuple[int, Any, BaseException | None]]:
    """(chunk index, result, None) or (chunk index, None, error) per chunk, in completion order.

    Each chunk is one task. A chunk whose worker died is rescheduled by Dask (up to its
    allowed-failures); retries covers exceptions raised inside the task as well.
    """
    from distributed import as_completed

    futures = {client.submit(function, chunk, *args, retries=retries, pure=False): i
               for i, chunk in enumerate(chunk_list)}
    for future in as_completed(list(futures)):
        index = futures[future]
        try:
            yield index, future.result(), None
        except Exception as exc:  # noqa: BLE001 - any task failure is reported for its chunk, the run goes on
            yield index, None, exc
        finally:
            future.release()
