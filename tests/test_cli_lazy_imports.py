"""Every ``revtain <command> --help`` and ``revtain <group> <sub> --help`` answers without loading
the app: command modules import the models, SQLAlchemy and the gateways inside their functions.

Structural rather than timed: a heavy import added at a command module's top level shows up in
``sys.modules`` here, whatever the machine's speed."""

from __future__ import annotations

import json
import subprocess
import sys

from revtain.cli import COMMANDS
from tests.support.processes import ROOT

PROBE = """
import json, sys
import click
from click.testing import CliRunner
from revtain.cli import COMMANDS, load, main

def helps(names):
    answered = []
    for name in names:
        command = load(name)
        subs = command.list_commands(click.Context(command)) if isinstance(command, click.Group) else []
        for args in [[name], *([name, sub] for sub in subs)]:
            result = CliRunner().invoke(main, [*args, "--help"])
            assert result.exit_code == 0 and "Usage: " in result.output, (args, result.output)
            answered.append(" ".join(args))
    return answered

HEAVY = ("sqlalchemy", "flask_sqlalchemy", "revtain.extensions", "revtain.models", "revtain.onboarding",
         "revtain.gateways", "stripe", "braintree", "rq")
ours = helps([name for name in COMMANDS if name != "db"])
loaded_by_ours = sorted(m for m in HEAVY if m in sys.modules)
# Flask-Migrate itself imports SQLAlchemy and Alembic; its --help must still not build the app.
theirs = helps(["db"])
APP = ("revtain.extensions", "revtain.models", "revtain.api", "revtain.dashboard")
loaded_by_db = sorted(m for m in APP if m in sys.modules)
print(json.dumps({"answered": ours + theirs, "ours": loaded_by_ours, "db": loaded_by_db}))
"""


def test_every_command_help_answers_without_loading_the_app():
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["ours"] == [], f"a command module imports {seen['ours']} at its top level"
    assert seen["db"] == [], f"revtain db <sub> --help built the app ({seen['db']})"
    answered = set(seen["answered"])
    assert set(COMMANDS) <= answered
    for group_sub in ("alerts set", "proof-mode report", "pre-retry-check set", "users add", "db upgrade"):
        assert group_sub in answered
