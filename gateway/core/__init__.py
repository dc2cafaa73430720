"""The pure core: decisions and clock maths on plain values.

Nothing in this package reads the clock, the database, the network or the
filesystem; tests/unit/test_layering.py keeps it so.
"""
