"""User-facing errors.

Everything the command line should report as a one-line message (a missing file, a corrupt image, a bad kernel
bank, an invalid option) is raised as a :class:`DeblurError`; the CLI prints its message and exits non-zero.
Programming errors stay ordinary exceptions with a traceback.
"""

from __future__ import annotations


class DeblurError(Exception):
    """An error caused by the user's input, with a message that says what to do."""


class ImageError(DeblurError):
    """An image file that cannot be read or written."""


class KernelBankError(DeblurError):
    """A kernel file or bank with bad content."""


class ConfigError(DeblurError, ValueError):
    """An invalid configuration value."""


class DeblurWarning(UserWarning):
    """Something the user should know that does not stop the work (photos skipped, a run started afresh); the command
    line prints it as one ``Warning: ...`` line."""
