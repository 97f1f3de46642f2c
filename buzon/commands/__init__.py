"""One module per CLI command; each lists its click commands in ``__commands__``."""
