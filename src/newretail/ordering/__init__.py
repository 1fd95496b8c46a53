"""Customers, carts, checkout, the delivery promise (zone + ETA) and the order state machine."""
