"""Reconciliation: event files, the rules that settle media, and their store code."""
