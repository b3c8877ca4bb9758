"""The base classes for errors a user can cause (bad input, a missing file, a wrong option).

The command line prints these as one line and exits non-zero; anything else is a bug and
keeps its traceback.
"""


class SeqlabError(Exception):
    """An error in what the user asked for, with a one-line message that says what to do."""


class ConfigError(SeqlabError, ValueError):
    """A configuration value its owner refuses. `field` names it, so the command line can say
    which flag (`--hidden-size`) the library calls `hidden_size`; also a ValueError, for code
    that builds configs by hand."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


def check_range(field: str, value, low, high, note: str = "") -> None:
    """Refuse `value` outside [low, high] with a ConfigError that states the limits."""
    if not low <= value <= high:
        raise ConfigError(field, f"must be from {low:,} to {high:,}{note}, got {value:,}")
