"""``revtain db``: Flask-Migrate's commands, whose ``--help`` answers without building the app.

Flask-Migrate's ``db`` group callback runs under ``with_appcontext``, and click runs a group's
callback before it parses the subcommand, so ``revtain db upgrade --help`` used to build the whole
app first. This group parses a subcommand asking for help before that callback runs.
"""

from __future__ import annotations

import click
from flask_migrate.cli import db as _migrate_db


class HelpFirstGroup(click.Group):
    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None and set(rest) & set(ctx.help_option_names):
            cmd.make_context(name, list(rest), parent=ctx)  # prints the help and exits
        return name, cmd, rest


db_group = HelpFirstGroup(
    name="db",
    commands=_migrate_db.commands,
    params=_migrate_db.params,
    callback=_migrate_db.callback,
    help=_migrate_db.help,
)
