"""Checkpoints of the train state and the data position. The only module that touches orbax."""
import os
import shutil
import sys

import jax
import orbax.checkpoint as ocp


def directory(workdir: str) -> str:
  """Where a workdir keeps its train-state checkpoints."""
  return os.path.join(workdir, 'checkpoints')


class Checkpointer:
  """Saves {state pytree, data position (JSON)} per step under `directory`.

  Saves are synchronous and orbax commits each step atomically, so a process
  killed mid-save leaves the previous step as the latest one.
  """

  def __init__(self, directory: str, max_to_keep: int = 2):
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, create=True, enable_async_checkpointing=False)
    self._directory = os.path.abspath(directory)
    self._manager = ocp.CheckpointManager(self._directory, options=options)

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state, data_state: dict) -> None:
    self._manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_state)))

  def restore(self, step: int, like_state):
    """Returns (state, data position) of `step`, with the structure of `like_state`."""
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like_state)
    restored = self._manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract), data=ocp.args.JsonRestore()))
    return restored['state'], restored['data']

  def restore_newest_intact(self, like_state, unreadable_dir: str):
    """(step, state, data position) of the newest checkpoint that restores, or None if there is none.

    A newer one that fails (a truncated array file, a missing _METADATA) is moved, whole, to
    `unreadable_dir` (kept, not deleted) and reported in one line, so the run goes on from the one
    before and saves that step again later.
    """
    for step in sorted(self.all_steps(), reverse=True):
      try:
        state, data = self.restore(step, like_state)
        return step, state, data
      except Exception as e:  # orbax and tensorstore raise many kinds; any of them means unreadable.
        first_line = (str(e).strip().splitlines() or [''])[0][:200]
        os.makedirs(unreadable_dir, exist_ok=True)
        moved, copies = os.path.join(unreadable_dir, str(step)), 0
        while os.path.exists(moved):  # The same step failed before: keep both copies.
          copies += 1
          moved = os.path.join(unreadable_dir, f'{step}.{copies}')
        shutil.move(os.path.join(self._directory, str(step)), moved)
        self._manager.reload()
        print(f'Checkpoint step {step} is unreadable ({type(e).__name__}: {first_line}); moved to {moved!r}, '
              'resuming from the one before it.', file=sys.stderr)
    return None

  def restore_params(self, step: int):
    """Only the parameters of `step`, as saved (no target structure needed): for sampling and fine-tuning."""
    restored = self._manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))
    return restored['state']['params']

  def close(self) -> None:
    self._manager.close()
