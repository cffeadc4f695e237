"""Parameters kept apart from the train state: a pretrained run's, to start from (init_from), and the best
validation evaluation's so far (eval.select_metric), which the final evaluation uses."""
import os

from flax import serialization
from flax import traverse_util
import jax
import jax.numpy as jnp
import numpy as np

from training import checkpoint
from training import errors


# A finished run's final parameters in float16 (msgpack), which init_from (and a classifier's loader) read in
# preference to its checkpoints: a sweep writes it as soon as a pretraining run (or a teacher) finishes and keeps
# it with its records, small enough to commit (half of float32, no optimizer state), so the rows that start from
# that run go on on a fresh machine, from the same numbers there as on the machine that trained it.
EXPORT_FILE = 'params.msgpack'


def export(workdir: str) -> str:
  """Writes the parameters that workdir's final evaluation used (final_params) to EXPORT_FILE, with their step,
  once and atomically; returns its path."""
  path = os.path.join(workdir, EXPORT_FILE)
  if os.path.exists(path):
    return path
  step, params = final_params(workdir)
  halves = jax.tree.map(lambda x: np.asarray(x, np.float16), params)
  if not all(np.isfinite(x).all() for x in jax.tree.leaves(halves)):
    raise errors.ConfigError(f'{workdir!r}: a parameter does not fit float16; it cannot be exported.')
  temporary = f'{path}.tmp'
  with open(temporary, 'wb') as f:
    f.write(serialization.msgpack_serialize({'step': step, 'params': halves}))
  os.replace(temporary, path)
  return path


def load_export(workdir: str):
  """(step, float32 params) of workdir's EXPORT_FILE (float16 values), or None if it has none."""
  path = os.path.join(workdir, EXPORT_FILE)
  if not os.path.exists(path):
    return None
  with open(path, 'rb') as f:
    stored = serialization.msgpack_restore(f.read())
  return int(stored['step']), jax.tree.map(lambda x: np.asarray(x, np.float32), stored['params'])


def has_pretrained(workdir: str) -> bool:
  """Whether `workdir` holds parameters that init_from can load (an export or a checkpoints folder)."""
  return os.path.exists(os.path.join(workdir, EXPORT_FILE)) or os.path.isdir(checkpoint.directory(workdir))


def _newest(directory: str, workdir: str):
  ckpt = checkpoint.Checkpointer(directory)
  step = ckpt.latest_step()
  if step is None:
    ckpt.close()
    raise errors.ConfigError(f'init_from {workdir!r} has no checkpoint yet.')
  params = ckpt.restore_params(step)  # Both folders save {'params': ...} first.
  ckpt.close()
  return step, params


def final_params(workdir: str):
  """(step, params) of the evaluation in workdir's results.json: the best validation evaluation's (directory())
  where the run keeps one, else the latest checkpoint's."""
  best = directory(workdir)
  if os.path.isdir(best):
    ckpt = checkpoint.Checkpointer(best)
    kept = ckpt.latest_step() is not None
    ckpt.close()
    if kept:
      return _newest(best, workdir)
  return _newest(checkpoint.directory(workdir), workdir)


def load_pretrained(params, workdir: str, left_behind: tuple = (), adapt=None):
  """params with every array of `workdir`'s export (EXPORT_FILE) or, without one, of its latest checkpoint put in
  place; (params, loaded paths, fresh paths).

  left_behind: prefixes of the pretrained parameter paths that this model does not take (a pretraining
  objective's own modules, such as a sequence autoencoder's decoder); any other pretrained array that does not
  fit the model is an error. adapt(pretrained, own, workdir) maps the pretrained arrays first (a task's
  adapt_pretrained).
  """
  exported = load_export(workdir)
  stored = exported[1] if exported else _newest(checkpoint.directory(workdir), workdir)[1]
  pretrained = traverse_util.flatten_dict(stored, sep='/')
  own = traverse_util.flatten_dict(params, sep='/')
  if adapt is not None:
    pretrained = adapt(pretrained, own, workdir)
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
