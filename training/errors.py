"""The errors a user can cause (a config key or value, a data file, a flag, a workdir) and a diverged run.

Entry points print these as one `error: ...` line (training/cli.py); anything else is a bug and keeps
its traceback.
"""
from data.files import DataError


class UserError(Exception):
  """Input that cannot work, said in one line that names the problem and the accepted choices."""


class ConfigError(UserError, ValueError):
  """A config key or value that cannot work, with the accepted choices."""


class WorkdirError(UserError):
  """A workdir that cannot be used as asked: in use by another process, or holding another run."""


class Diverged(FloatingPointError):
  """Training stopped at `step` because the loss or the gradient went non-finite or past train.max_loss."""

  def __init__(self, step: int, message: str):
    super().__init__(message)
    self.step = step


# Raised by the standard library or the data layer for things the user gave us.
USER_ERRORS = (UserError, DataError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError,
               FileExistsError)
