"""One stock ledger per store: on-hand, reservations, movements. Shelf, till, app and door share it."""
