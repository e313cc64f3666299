"""`zkmargin serve`: start the verifier service on uvicorn (by import string: cli never imports the service)."""

from __future__ import annotations

import os

import click

APP_FACTORY = "verifier_service.app:create_app"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--database-url", default=None, help="sqlite:///path (default ./zkmargin-verifier.db) or postgresql://...")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes (share the database).")
def serve(host: str, port: int, database_url: str | None, workers: int) -> None:
    """Run the FastAPI verifier service (settings: ZKMARGIN_* environment variables)."""
    import uvicorn

    if database_url:
        os.environ["ZKMARGIN_DATABASE_URL"] = database_url
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers, log_level="warning")
