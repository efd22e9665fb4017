"""What the benchmarks share: where things are, logging, the commit measured, CPU from /proc."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
REVTAIN = str(VENV_BIN / "revtain") if (VENV_BIN / "revtain").exists() else "revtain"

HOST = "127.0.0.1"
PROTECTED_DATABASES = {"test", "postgres", "template0", "template1"}
FOREIGN_WARN_CORES = 0.10  # other processes' CPU above which the figures are flagged as skewed
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def revtain_version() -> str:
    """The commit measured, and whether ``revtain/`` had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "revtain"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" + uncommitted changes in revtain/" if dirty else "")


def proc_cpu() -> dict[int, tuple[int, str, float]]:
    """pid -> (ppid, comm, user+system CPU seconds), from /proc (Linux)."""
    table: dict[int, tuple[int, str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), comm, (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return table
