"""Build ``revtain/engine/data/bins.sqlite3`` from the bin-cc BIN data (PyPI ``creditcard-identifier``).

The BIN table Revtain ships is derived, never edited by hand: install the pinned data package and run

    .venv/bin/pip install -e '.[bindata]'
    .venv/bin/python scripts/build_bin_data.py

to rebuild it after raising the pin in ``pyproject.toml``. The file records its source, version, licence
and the SHA-256 of the JSON it was built from (``tests/engine/test_bins.py`` checks that the installed
package and the shipped table agree).

Why a derived SQLite file and not the package at run time: the package is one 42 MB JSON document;
parsing it costs about a second and leaves ~150 MB resident in every web and worker process, while the
derived table is ~4 MB on disk, opens in microseconds and is shared by all processes through the page
cache.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from datetime import UTC, datetime
from importlib import metadata, resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from revtain.engine.bins import DATA_FILE, normalise_card_type  # noqa: E402
from revtain.engine.card_networks import network_for_bin  # noqa: E402

PACKAGE = "creditcard-identifier"
SOURCE = "bin-cc (https://github.com/renatovico/bin-cc), via the PyPI package creditcard-identifier"
LICENCE = "MIT License, Copyright (c) 2026 Renato Augusto Viço Elias"


def _best(bin_text: str, candidates: list[tuple[str, dict]]) -> tuple[str, dict]:
    """One row per BIN: co-branded BINs (e.g. Elo and Visa) keep the scheme the IIN ranges name."""
    by_ranges = network_for_bin(bin_text)
    for scheme, entry in candidates:
        if scheme == by_ranges:
            return scheme, entry
    return candidates[0]


def build(target: Path = DATA_FILE) -> dict[str, str]:
    raw = resources.files("creditcard_identifier").joinpath("cards-detailed.json").read_bytes()
    brands = json.loads(raw)
    rows: dict[str, list[tuple[str, dict]]] = {}
    for brand in brands:
        for entry in brand.get("bins") or []:
            text = str(entry.get("bin") or "")
            if len(text) == 6 and text.isdigit():
                rows.setdefault(text, []).append((brand["scheme"], entry))

    kinds: dict[tuple[str, str, str | None, str | None], int] = {}
    table: list[tuple[int, int]] = []
    for text in sorted(rows):
        scheme, entry = _best(text, rows[text])
        countries = [c for c in entry.get("countries") or [] if len(c) == 2 and c.isalpha()]
        issuer = (entry.get("issuer") or "").strip() or None
        kind = (
            scheme,
            normalise_card_type(entry.get("type")),
            issuer,
            countries[0].upper() if len(countries) == 1 else None,
        )
        table.append((int(text), kinds.setdefault(kind, len(kinds))))

    meta = {
        "source": SOURCE,
        "package": PACKAGE,
        "version": metadata.version(PACKAGE),
        "licence": LICENCE,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "bins": str(len(table)),
    }
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(partial) as conn:
        conn.executescript(
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE kinds (
                id INTEGER PRIMARY KEY, scheme TEXT NOT NULL, card_type TEXT NOT NULL,
                issuer TEXT, country TEXT);
            CREATE TABLE bins (bin INTEGER PRIMARY KEY, kind INTEGER NOT NULL) WITHOUT ROWID;
            """
        )
        conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        conn.executemany(
            "INSERT INTO kinds VALUES (?, ?, ?, ?, ?)", [(i, *kind) for kind, i in kinds.items()]
        )
        conn.executemany("INSERT INTO bins VALUES (?, ?)", table)
    with sqlite3.connect(partial) as conn:
        conn.execute("VACUUM")
    conn.close()
    partial.replace(target)
    return meta


if __name__ == "__main__":
    info = build()
    print(f"{DATA_FILE.relative_to(ROOT)}: {info['bins']} BINs from {info['package']} {info['version']}")
