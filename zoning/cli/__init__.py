"""The ``zoning`` command: thin click commands over the library, one module per command group.

Exit codes (one place: :mod:`zoning.cli._common`): 0 done, 1 done with failed rows or checks,
2 bad input data, 3 internal error, 64 wrong command line, 130 interrupted.
"""
from __future__ import annotations

import click

from zoning._version import __version__
from zoning.cli._common import ZoningGroup
from zoning.cli.carbon import carbon
from zoning.cli.export import export_cmd
from zoning.cli.layers import layers
from zoning.cli.map import map_cmd
from zoning.cli.rules import rules
from zoning.cli.sample import sample
from zoning.cli.screen import screen_cmd
from zoning.cli.serve import serve_cmd
from zoning.cli.sites import sites_cmd


@click.group(cls=ZoningGroup)
@click.version_option(__version__, prog_name="zoning")
@click.option("--debug", is_flag=True, help="Whole error messages, and a traceback for internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """三线一单 / 生态环境分区管控 screening tool for Nanping (南平市)."""
    ctx.obj = {"debug": debug}


for command in (layers, sample, sites_cmd, screen_cmd, map_cmd, export_cmd, carbon, rules, serve_cmd):
    main.add_command(command)

if __name__ == "__main__":  # pragma: no cover
    main()
