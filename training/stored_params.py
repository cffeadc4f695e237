"""Parameters kept apart from the train state: a pretrained run's, to start from (init_from), and the best
validation evaluation's so far (eval.select_metric), which the final evaluation uses."""
import os

from flax import traverse_util
import jax.numpy as jnp

from training import checkpoint
from training import errors


def load_pretrained(params, workdir: str, left_behind: tuple = ()):
  """params with every array of `workdir`'s latest checkpoint put in place; (params, loaded paths, fresh paths).

  left_behind: prefixes of the pretrained parameter paths that this model does not take (a pretraining
  objective's own modules, such as a sequence autoencoder's decoder); any other pretrained array that does not
  fit the model is an error.
  """
  ckpt = checkpoint.Checkpointer(checkpoint.directory(workdir))
  step = ckpt.latest_step()
  if step is None:
    raise errors.ConfigError(f'init_from {workdir!r} has no checkpoint yet.')
  pretrained = traverse_util.flatten_dict(ckpt.restore_params(step), sep='/')
  ckpt.close()
  own = traverse_util.flatten_dict(params, sep='/')
  pretrained = {path: value for path, value in pretrained.items() if path in own or not path.startswith(left_behind)}
  for path, value in pretrained.items():
    if path not in own or own[path].shape != value.shape:
      found = own[path].shape if path in own else 'absent'
      raise errors.ConfigError(f'init_from {workdir!r}: parameter {path} {value.shape} does not fit this model ({found}).')
    own[path] = jnp.asarray(value, own[path].dtype)
  fresh = sorted(set(own) - set(pretrained))
  return traverse_util.unflatten_dict(own, sep='/'), sorted(pretrained), fresh


def directory(workdir: str) -> str:
  """Where a workdir keeps the best validation evaluation's parameters."""
  return os.path.join(workdir, 'best')


class BestParams:
  """The parameters of the best validation metric so far, saved in directory(workdir) (survives a resume)."""

  def __init__(self, workdir: str, metric: str, mode: str):
    self.metric, self.sign = metric, (1.0 if mode == 'max' else -1.0)
    self._ckpt = checkpoint.Checkpointer(directory(workdir), max_to_keep=1)

  def offer(self, step: int, metrics: dict, params) -> None:
    if self.metric not in metrics:
      raise errors.ConfigError(f'eval.select_metric {self.metric!r} is not a validation metric; '
                       f'choose one of: {", ".join(sorted(metrics))}.')
    best = self._ckpt.latest_step()
    if best is not None and best >= step:  # A resumed run replaying a step it has already judged.
      return
    if best is None:
      better = True
    else:
      new, old = self.sign * metrics[self.metric], self.sign * self._value(best, params)
      better = new > old  # Of equally good evaluations, the earlier is kept.
    if better:
      self._ckpt.save(step, {'params': params}, {'value': metrics[self.metric]})

  def _value(self, step: int, like_params) -> float:
    return self._ckpt.restore(step, {'params': like_params})[1]['value']

  def load(self, like_params):
    """(step, params) of the best evaluation."""
    step = self._ckpt.latest_step()
    return step, self._ckpt.restore(step, {'params': like_params})[0]['params']

  def close(self) -> None:
    self._ckpt.close()
