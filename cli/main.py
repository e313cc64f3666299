"""Root group: global options (curve backend, key cache) and the command groups."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from zkmargin.cli.output import EXIT_ERROR, EXIT_NO, error_payload
from zkmargin.errors import MarginCallError, ZkMarginError

if TYPE_CHECKING:
    from zkmargin.backends import CurveBackend


@dataclass
class Settings:
    """Global options shared by every command."""

    backend_name: str | None
    cache_dir: Path
    as_json: bool = False

    @property
    def backend(self) -> CurveBackend:
        """The selected curve backend."""
        from zkmargin.backends import get_backend

        return get_backend(self.backend_name)


def _json_in(args: list[str]) -> bool:
    """--json among the subcommand's arguments (looked at before parsing, so usage errors are covered too)."""
    return "--json" in (args[: args.index("--")] if "--" in args else args)


class ZkMarginGroup(click.Group):
    """Turns every failure into 'error: ...' on stderr (and a JSON error object under --json) with its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        # Group.invoke consumes these; read them first.
        ctx.meta["zkmargin.json_args"] = _json_in(
            [*(ctx._protected_args if hasattr(ctx, "_protected_args") else ctx.protected_args), *ctx.args])
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except click.ClickException as exc:
            if self._wants_json(ctx):
                code = "usage" if isinstance(exc, click.UsageError) else "bad_input"
                click.echo(error_payload(code, exc.format_message(), exc.exit_code))
            raise  # click prints it on stderr (with the usage line for usage errors)
        except MarginCallError as exc:
            self._fail(ctx, "margin_call", str(exc), EXIT_NO)
        except ZkMarginError as exc:
            self._fail(ctx, "bad_input", str(exc), EXIT_ERROR)
        except OSError as exc:
            message = f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
            self._fail(ctx, "bad_input", message, EXIT_ERROR)

    @staticmethod
    def _wants_json(ctx: click.Context) -> bool:
        return bool(ctx.meta.get("zkmargin.json_args") or ctx.params.get("as_json"))

    def _fail(self, ctx: click.Context, code: str, message: str, exit_code: int) -> None:
        if self._wants_json(ctx):
            click.echo(error_payload(code, message, exit_code))
        click.echo(f"error: {message}", err=True)
        ctx.exit(exit_code)


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
@click.option("--json", "as_json", is_flag=True,
              help="JSON output for the command that follows (same as its own --json).")
@click.version_option(package_name="zkmargin")
@click.pass_context
def cli(ctx: click.Context, backend: str | None, cache_dir: Path | None, as_json: bool) -> None:
    """Prove that a trading account is not subject to a margin call, without revealing it."""
    from zkmargin.cli.keystore import default_cache_dir

    ctx.obj = Settings(backend, cache_dir or default_cache_dir(), as_json)


def _register() -> None:
    from zkmargin.cli import (
        account,
        batch,
        book,
        cascade,
        demo,
        export,
        groth16,
        proving,
        r1cs,
        risk_arrays,
        sample,
        serve,
        stress,
        venue,
        venue_run,
        zkey,
    )

    for command in (
        account.margin,
        account.commit,
        account.account_group,
        proving.setup,
        proving.prove,
        proving.verify,
        proving.inspect,
        demo.demo,
        sample.sample,
        batch.verify_batch_command,
        serve.serve,
        groth16.groth16,
        venue.venue,
        export.export,
        r1cs.r1cs,
        zkey.zkey,
        stress.stress,
        cascade.cascade,
        cascade.sample_population,
        risk_arrays.risk_arrays,
        book.book_group,
    ):
        cli.add_command(command)
    venue.venue.add_command(venue_run.run)
    venue.venue.add_command(book.venue_book)


_register()


def main() -> None:
    """Console entry point."""
    cli()


if __name__ == "__main__":
    main()
