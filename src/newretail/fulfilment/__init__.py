"""Pick lists, batching, scanning, substitutions and packing."""
