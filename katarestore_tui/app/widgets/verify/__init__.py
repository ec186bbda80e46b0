"""Widgets of the verify screen."""
