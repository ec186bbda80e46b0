"""katarestore: restore PostgreSQL from JSON backups."""

__version__ = "0.1.0"
