"""User-facing errors.

Anything a user can get wrong (a bad option, a missing or malformed file, a checkpoint of another
model) raises :class:`UserError` with a one-line message that names the file or option and the
problem.  The CLI prints it as ``physgen: error: <message>`` and exits with status 2; library users
catch it as a ``ValueError``.
"""


class UserError(ValueError):
    """Bad input from the user: reported on one line, exit code 2, never a traceback."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))  # always one line
