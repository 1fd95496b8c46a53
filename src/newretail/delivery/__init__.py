"""Delivery: couriers, shifts, dispatch planning, tracking, proof of delivery."""
