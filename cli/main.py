"""Root group: global options (curve backend, key cache) and the command groups."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from cli.output import EXIT_ERROR, EXIT_NO
from zkmargin.errors import MarginCallError, ZkMarginError


@dataclass
class Settings:
    """Global options shared by every command."""

    backend_name: str | None
    cache_dir: Path

    @property
    def backend(self):  # noqa: ANN201 - a CurveBackend
        """The selected curve backend."""
        from zkmargin.backends import get_backend

        return get_backend(self.backend_name)


class ZkMarginGroup(click.Group):
    """Turns the library's typed errors into a message and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except MarginCallError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_NO)
        except ZkMarginError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_ERROR)
        except OSError as exc:
            click.echo(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
            ctx.exit(EXIT_ERROR)


@click.group(cls=ZkMarginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--backend",
    type=click.Choice(["arkworks", "py_ecc"]),
    default=None,
    help="Curve backend (default: $ZKMARGIN_BACKEND or arkworks).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Key cache (default: $ZKMARGIN_CACHE_DIR or ~/.cache/zkmargin).",
)
@click.version_option(package_name="zkmargin")
@click.pass_context
def cli(ctx: click.Context, backend: str | None, cache_dir: Path | None) -> None:
    """Prove that a trading account is not subject to a margin call, without revealing it."""
    from cli.keystore import default_cache_dir

    ctx.obj = Settings(backend, cache_dir or default_cache_dir())


def _register() -> None:
    from cli import account, batch, cascade, demo, groth16, proving, risk_arrays, serve, stress

    for command in (
        account.margin,
        account.commit,
        proving.setup,
        proving.prove,
        proving.verify,
        proving.inspect,
        demo.demo,
        batch.verify_batch_command,
        serve.serve,
        groth16.groth16,
        stress.stress,
        cascade.cascade,
        cascade.sample_population,
        risk_arrays.risk_arrays,
    ):
        cli.add_command(command)


_register()


def main() -> None:
    """Console entry point."""
    cli()


if __name__ == "__main__":
    main()
