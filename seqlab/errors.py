"""The one base class for errors a user can cause (bad input, a missing file, a wrong option).

The command line prints these as one line and exits non-zero; anything else is a bug and
keeps its traceback.
"""


class SeqlabError(Exception):
    """An error in what the user asked for, with a one-line message that says what to do."""
