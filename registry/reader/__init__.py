"""The registry's one reader (read-only queries), one module per consumer."""
