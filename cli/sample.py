"""`zkmargin sample`: write the built-in sample data to a folder, the starting point of the docs' walkthroughs."""

from __future__ import annotations

from pathlib import Path

import click

from zkmargin.cli.output import CliError, emit, json_option, write_json
from zkmargin.margin.samples import sample_files


@click.command()
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the sample files to (made if missing).")
@click.option("--scenarios", "scenario_count", type=click.IntRange(1, 1000), default=250, show_default=True,
              help="Historical scenarios in scenarios.json (the var/es snapshot).")
@click.option("--force", is_flag=True, help="Overwrite sample files already in the folder.")
@json_option
def sample(workdir: Path, scenario_count: int, force: bool, as_json: bool) -> None:
    """Write a healthy and a margin-call account, the snapshot, and a var/es scenario snapshot to WORKDIR."""
    documents = sample_files(scenario_count)
    paths = {name: workdir / name for name in documents}
    # Checked before anything is written, so a refusal leaves the folder as it was.
    present = [str(path) for path in paths.values() if path.exists()]
    if present and not force:
        raise CliError(f"{', '.join(present)} already exist(s); pass --force to overwrite the sample files")
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        for name, document in documents.items():
            write_json(paths[name], document)
    except OSError as exc:
        raise CliError(f"cannot write the sample files to {workdir}: {exc.strerror or exc}") from None
    emit(as_json, {"workdir": str(workdir), "files": [str(p) for p in paths.values()]},
         "\n".join(f"wrote {p}" for p in paths.values()))
