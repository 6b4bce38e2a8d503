"""The package version, in a module of its own so that modules the package root imports can name it."""

from __future__ import annotations

__version__ = "0.1.0"
