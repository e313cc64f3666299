"""`python -m zkmargin.verifier_service [--host H] [--port P] [--database-url URL] [--workers N]` on uvicorn.

Other settings come from ZKMARGIN_* environment variables (ZKMARGIN_ADMIN_KEY above all:
a secret is kept out of argv, where other users of the machine could read it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile

import uvicorn

from zkmargin.verifier_service.server import uvicorn_options

APP_FACTORY = "zkmargin.verifier_service.app:create_app"
DATABASE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


def main(argv: list[str] | None = None) -> None:
    """Parse options into ZKMARGIN_* settings and serve (workers share the database, not memory)."""
    parser = argparse.ArgumentParser(prog="python -m zkmargin.verifier_service", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--database-url", default=None, help="sqlite:///path (default) or postgresql://...")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes (default 1: one already verifies on every core)")
    args = parser.parse_args(argv)
    if args.database_url is not None and not args.database_url.startswith(DATABASE_SCHEMES):
        parser.error(f"--database-url {args.database_url!r}: use sqlite:///path or postgresql://user@host/db")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    # Settings travel to the workers through the environment: uvicorn starts them by import string.
    if args.database_url:
        os.environ["ZKMARGIN_DATABASE_URL"] = args.database_url
    # Several workers share their metrics through files in one fresh directory (prometheus_client's
    # multiprocess mode): /metrics then answers the same totals whichever worker serves it.
    metrics_dir = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="zkmargin-metrics-")
    try:
        # log_level info: uvicorn says where it listens and writes one access-log line per request.
        uvicorn.run(APP_FACTORY, factory=True, host=args.host, port=args.port, workers=args.workers, log_level="info",
                    **uvicorn_options())
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
