"""The one error every loader raises; its own module so the CLI can catch it without loading any."""

from __future__ import annotations


class DatasetError(ValueError):
    """A data set that cannot be used as given; the message names the file or value and the fix."""
