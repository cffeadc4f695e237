"""Checkpoints of the train state and the data position. The only module that touches orbax."""
import os

import jax
import orbax.checkpoint as ocp


class Checkpointer:
  """Saves {state pytree, data position (JSON)} per step under `directory`.

  Saves are synchronous and orbax commits each step atomically, so a process
  killed mid-save leaves the previous step as the latest one.
  """

  def __init__(self, directory: str, max_to_keep: int = 2):
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, create=True, enable_async_checkpointing=False)
    self._manager = ocp.CheckpointManager(os.path.abspath(directory), options=options)

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

  def restore_params(self, step: int):
    """Only the parameters of `step`, as saved (no target structure needed): for sampling and fine-tuning."""
    restored = self._manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))
    return restored['state']['params']

  def close(self) -> None:
    self._manager.close()
