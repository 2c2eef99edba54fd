"""`python -m bench ...` is `rpa bench ...`."""

from __future__ import annotations

import typer

from bench.command import bench
from cli.common import one_line_errors

if __name__ == "__main__":
    typer.run(one_line_errors(bench))
