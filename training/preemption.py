"""Stopping a training run on a signal with a checkpoint, so that a cluster may preempt it at any moment.

SIGTERM (what schedulers send before killing a job), SIGINT (Ctrl-C), SIGUSR1 (SLURM's
`--signal=USR1@SECONDS`) and SIGUSR2 (submitit's choice for the same warning) ask the loop to stop: it finishes the jitted call in flight, saves a checkpoint of
that step, and raises Preempted, which the command line turns into exit status 128 + the signal's number
(143 for SIGTERM), the status of a process that a signal ended. A launcher that requeues on it (SLURM with
`--requeue`, submitit) restarts the same command, which resumes from that checkpoint. A second Ctrl-C stops
at once.

With several processes (jax.distributed), jax's preemption service carries a SIGTERM that reaches any of
them to all, and every process stops at the same call (multihost_utils.reached_preemption_sync_point), so
they save one checkpoint together; the other signals are turned into a SIGTERM to this process.
"""
import contextlib
import signal
import threading

import jax
from jax.experimental import multihost_utils

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2)


class Preempted(Exception):
  """The run stopped on `signal_number` after saving a checkpoint of `step`."""

  def __init__(self, step: int, signal_number: int):
    self.step, self.signal_number = step, signal_number
    super().__init__(f'stopped by {signal.Signals(signal_number).name} at step {step}, with a checkpoint of '
                     'that step; the same command resumes from it.')

  @property
  def exit_status(self) -> int:
    return 128 + self.signal_number


class Watch(contextlib.AbstractContextManager):
  """While open, the signals above are recorded instead of ending the process; `stop_requested(call)` says,
  at the end of each jitted call (numbered the same way on every process), whether to save and stop."""

  def __init__(self):
    self.signal_number = None
    self._previous = {}
    self._multi_process = jax.process_count() > 1

  def __enter__(self):
    if threading.current_thread() is not threading.main_thread():
      return self  # Python delivers signals to the main thread only; a run in another thread is not watched.
    for number in SIGNALS:
      if self._multi_process and number == signal.SIGTERM:
        continue  # jax's preemption service listens for it.
      self._previous[number] = signal.signal(number, self._handle)
    return self

  def _handle(self, number, frame):
    if number == signal.SIGINT and self.signal_number == signal.SIGINT:
      raise KeyboardInterrupt  # Ctrl-C twice: the user does not want to wait for the checkpoint.
    self.signal_number = self.signal_number or number
    if self._multi_process:
      signal.raise_signal(signal.SIGTERM)  # Through the preemption service, so that every process stops.

  def stop_requested(self, call: int) -> bool:
    if self._multi_process:
      if multihost_utils.reached_preemption_sync_point(call):
        self.signal_number = self.signal_number or signal.SIGTERM
        return True
      return False
    return self.signal_number is not None

  def __exit__(self, *exc):
    for number, handler in self._previous.items():
      signal.signal(number, handler)
    self._previous = {}
    return False
