"""The services that act on recoveries: start one, run attempts and cascades, finish it."""
