"""The HTTP API (Litestar): app factory, auth, limits, errors, and one module per resource."""
