"""Pieces of the benchmark screen."""
