"""`python -m verifier_service [--host H] [--port P] [--database-url URL] [--workers N]` on uvicorn."""

from __future__ import annotations

import argparse
import os

import uvicorn

APP_FACTORY = "verifier_service.app:create_app"


def main(argv: list[str] | None = None) -> None:
    """Parse options into ZKMARGIN_* settings and serve (workers share the database, not memory)."""
    parser = argparse.ArgumentParser(prog="python -m verifier_service", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--database-url", default=None, help="sqlite:///path (default) or postgresql://...")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if args.database_url:
        os.environ["ZKMARGIN_DATABASE_URL"] = args.database_url
    uvicorn.run(APP_FACTORY, factory=True, host=args.host, port=args.port, workers=args.workers,
                log_level="warning")


if __name__ == "__main__":
    main()
