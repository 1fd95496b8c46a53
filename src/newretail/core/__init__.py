"""Shared kernel: clock, money, ids, geo, errors, settings, database, unit of work, messaging."""
