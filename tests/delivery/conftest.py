"""Delivery fixtures (defined in delivery_helpers.py, which the tests also import helpers from)."""

from delivery_helpers import gateway, smtp_server, spool_home  # noqa: F401
