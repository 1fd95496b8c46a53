"""Couriers, shifts, dispatch, tracking and proof of delivery."""
