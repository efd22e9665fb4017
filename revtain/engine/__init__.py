"""Pure decisions: no Flask, no I/O beyond reading packaged data. Functions of (facts, now)."""
