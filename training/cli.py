"""How the command-line programs read their input lines and end: a user's mistake as one `error: ...` line,
not a traceback.

Exit status 2 for a user error (config, data, flag, workdir), 1 for a diverged run, 130 for Ctrl-C, and
128 + the signal's number for a training run that a signal stopped with a checkpoint (143 for SIGTERM:
training/preemption.py); --verbose keeps the traceback. Anything else is a bug and keeps its traceback.
"""
import os
import sys

from data import files
from training import errors
from training import preemption

USAGE, DIVERGED, INTERRUPTED = 2, 1, 130


def read_lines(path: str | None, stdin) -> list:
  """The lines of the file `path`, or of stdin's bytes: UTF-8, split on '\\n' only, so that each output line
  answers the input line at the same place (str.splitlines would also split at U+2028 and others)."""
  data, name = (files.read_bytes(path), path) if path else (stdin.read(), '<stdin>')
  return files.split_lines(files.decode_utf8(data, name))


def fail(message: str, status: int = USAGE):
  print(f'error: {message}', file=sys.stderr)
  sys.exit(status)


def run(fn, *args, verbose: bool = False, on_interrupt: str = ''):
  """fn(*args), its user errors reported in one line; on_interrupt: what Ctrl-C leaves behind, said after it."""
  try:
    return fn(*args)
  except KeyboardInterrupt:
    print(f'error: interrupted{"; " + on_interrupt if on_interrupt else ""}.', file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    # Not sys.exit: XLA may still be compiling on its own threads, and tearing the interpreter down
    # under them crashes. The workdir is already consistent (its lock released on the way out).
    os._exit(INTERRUPTED)
  except preemption.Preempted as e:
    print(f'{sys.argv[0]}: {e}', file=sys.stderr)
    sys.exit(e.exit_status)
  except errors.Diverged as e:
    if verbose:
      raise
    fail(str(e), DIVERGED)
  except errors.USER_ERRORS as e:
    if verbose:
      raise
    fail(_one_line(e))


def _one_line(e: Exception) -> str:
  if isinstance(e, OSError) and e.filename and e.strerror:  # e.g. "[Errno 13] Permission denied: 'x'"
    return f'{e.strerror}: {e.filename!r}.'
  return ' '.join(str(e).split()) or type(e).__name__
