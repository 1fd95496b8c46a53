"""HTTP API: one FastAPI app mounting each context's router."""
