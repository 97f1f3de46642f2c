"""Reconciliation: event files (``events``), the pure rules (``rules``), the store side (``store``)
and the batch that records and applies events (``apply``). Above ``registry`` and ``delivery``;
below ``callbacks`` (the web receiver), ``flows`` and the CLI."""
