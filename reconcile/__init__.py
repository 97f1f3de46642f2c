"""Reconciliation: event files (``events``), the pure rules (``rules``), the store side (``store``),
the batch that records and applies events (``apply``) and the events inbox (``inbox``). Above
``registry`` and ``delivery``; below ``callbacks`` (the web receiver), ``flows`` and the CLI."""
