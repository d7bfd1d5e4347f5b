"""The package version (one place: fastode/__init__.py re-exports it, fastode.ensemble records it)."""
__version__ = "0.1.0"
