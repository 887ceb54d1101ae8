"""The package version, in one place (the CLI's ``--version`` reads it without importing the library)."""

__version__ = "0.1.0"
