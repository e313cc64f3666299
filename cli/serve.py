"""`zkmargin serve`: start the verifier service on uvicorn (by import string: cli never imports the service)."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile

import click

from zkmargin.cli.output import EXIT_ERROR, CliError

APP_FACTORY = "zkmargin.verifier_service.app:create_app"
SERVER_OPTIONS = "zkmargin.verifier_service.server:uvicorn_options"
"""The service's own uvicorn options (its HTTP protocol with header limits and timeouts, no proxy
headers unless configured, no Server header): the same as `python -m zkmargin.verifier_service` runs with."""
DATABASE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")
UVICORN_STARTUP_FAILURE = 3


def _database_url(_: click.Context, __: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.startswith(DATABASE_SCHEMES):
        raise click.BadParameter(f"{value!r}: use sqlite:///path or postgresql://user@host/db")
    return value


def _check_port_free(host: str, port: int) -> None:
    """CliError (exit 2) when host:port cannot be bound, tried the way uvicorn binds it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror} (is another server running there?)") from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--database-url", default=None, callback=_database_url,
              help="sqlite:///path (default ./zkmargin-verifier.db) or postgresql://... (shared by workers).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256),
              help="Worker processes; one already verifies on every core.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, database_url: str | None, workers: int) -> None:
    """Run the FastAPI verifier service.

    Other settings come from ZKMARGIN_* environment variables: ZKMARGIN_ADMIN_KEY (the
    bootstrap admin key; kept out of argv, where other users could read it),
    ZKMARGIN_VERIFY_REQUIRES_KEY, ZKMARGIN_MAX_BODY_BYTES, ZKMARGIN_RATE_LIMIT_PER_MINUTE,
    ZKMARGIN_WORKER_THREADS, ZKMARGIN_TRUSTED_PROXIES (behind a reverse proxy), ZKMARGIN_METRICS_KEY.
    """
    import uvicorn
    from uvicorn.importer import import_from_string

    # uvicorn would report a busy port only after the app (and its database file) exists, and exit 3.
    _check_port_free(host, port)
    # Settings travel to the workers through the environment: uvicorn starts them by import string.
    if database_url:
        os.environ["ZKMARGIN_DATABASE_URL"] = database_url
    backend_name = getattr(ctx.obj, "backend_name", None)
    if backend_name:
        os.environ["ZKMARGIN_BACKEND"] = backend_name
    # Several workers share their metrics through files in one fresh directory (prometheus_client's multiprocess mode).
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="zkmargin-metrics-")
    try:
        # log_level info: uvicorn says where it listens and writes one access-log line per request.
        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers, log_level="info",
                    **import_from_string(SERVER_OPTIONS)())
    except SystemExit as exc:
        # uvicorn's startup failure is exit 3 (its log says why): the project's codes are 0/1/2.
        if exc.code == UVICORN_STARTUP_FAILURE:
            raise SystemExit(EXIT_ERROR) from None
        raise
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
