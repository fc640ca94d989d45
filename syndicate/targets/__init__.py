"""Destinations: one module per target type; see ``registry.py``."""
