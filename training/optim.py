"""Optimizers and learning-rate schedules from config, through optax."""
import jax
import optax

from configs import checks


def _step_decay(lr, c, steps_per_epoch):
  # Zaremba et al.: constant for decay_start_epoch epochs, then divided by decay_factor every epoch.
  factor, start = float(c.decay_factor), int(c.decay_start_epoch)

  def schedule(step):
    epoch = step // steps_per_epoch
    return lr * factor ** -jax.numpy.maximum(0, epoch - start + 1).astype(jax.numpy.float32)
  return schedule


def _warmup_cosine(lr, c, total_steps):
  decay_steps = c.decay_steps or total_steps
  return optax.warmup_cosine_decay_schedule(
      0.0, lr, c.warmup_steps, max(decay_steps, c.warmup_steps + 1), c.end_learning_rate)


def _warmup_rsqrt(lr, c):
  # Linear warmup, then lr * sqrt(warmup / step): continuous at the end of warmup.
  warmup = float(max(c.warmup_steps, 1))

  def schedule(step):
    step = jax.numpy.maximum(step, 1).astype(jax.numpy.float32)
    return lr * jax.numpy.minimum(step / warmup, jax.numpy.sqrt(warmup / step))
  return schedule


SCHEDULES = {
    'constant': lambda lr, c, total, per_epoch: optax.constant_schedule(lr),
    'warmup_cosine': lambda lr, c, total, per_epoch: _warmup_cosine(lr, c, total),
    'warmup_rsqrt': lambda lr, c, total, per_epoch: _warmup_rsqrt(lr, c),
    'step_decay': lambda lr, c, total, per_epoch: _step_decay(lr, c, per_epoch),
}


def build_schedule(config, total_steps: int, steps_per_epoch: int) -> optax.Schedule:
  name = checks.check_choice(config.schedule.name, tuple(SCHEDULES), 'schedule.name')
  return SCHEDULES[name](config.optimizer.learning_rate, config.schedule, total_steps, steps_per_epoch)


def _matrices(params):
  return jax.tree.map(lambda p: p.ndim >= 2, params)


OPTIMIZERS = {
    'sgd': lambda lr, c: optax.sgd(lr),
    'momentum': lambda lr, c: optax.sgd(lr, momentum=c.momentum),
    'nesterov': lambda lr, c: optax.sgd(lr, momentum=c.momentum, nesterov=True),
    'rmsprop': lambda lr, c: optax.rmsprop(lr, decay=c.rho, eps=c.eps),
    'adagrad': lambda lr, c: optax.adagrad(lr, initial_accumulator_value=c.initial_accumulator, eps=c.eps),
    'adadelta': lambda lr, c: optax.adadelta(lr, rho=c.rho, eps=c.eps),
    'adam': lambda lr, c: optax.adam(lr, b1=c.b1, b2=c.b2, eps=c.eps),
    'adamw': lambda lr, c: optax.adamw(
        lr, b1=c.b1, b2=c.b2, eps=c.eps, weight_decay=c.weight_decay,
        mask=_matrices if c.decay_matrices_only else None),
}


def parse_lr_scales(text: str) -> dict:
  """optimizer.lr_scales 'NAME=FACTOR,...' -> {NAME: FACTOR}; a malformed entry is a ValueError naming it."""
  scales = {}
  for entry in filter(None, (e.strip() for e in text.split(','))):
    name, _, factor = entry.partition('=')
    try:
      scales[name.strip()] = float(factor)
    except ValueError:
      raise ValueError(f'optimizer.lr_scales entry {entry!r} is not NAME=FACTOR (e.g. skew=0.1).') from None
    if not name.strip() or not scales[name.strip()] > 0:
      raise ValueError(f'optimizer.lr_scales entry {entry!r} needs a parameter name and a factor > 0.')
  return scales


def _scale_by_name(scales: dict) -> optax.GradientTransformation:
  """Multiplies the update of every parameter whose name (its path's last key) is in `scales`: after the
  optimizer, that is its learning rate times the factor (expRNN trains its orthogonal weights 10x slower)."""
  name = lambda path: str(getattr(path[-1], 'key', path[-1]))

  def factors(tree):
    names = {name(path) for path, _ in jax.tree_util.tree_leaves_with_path(tree)}
    unknown = sorted(set(scales) - names)
    if unknown:
      raise ValueError(f'optimizer.lr_scales names {", ".join(unknown)}, which no parameter is called; '
                       f'parameter names: {", ".join(sorted(names))}.')
    return jax.tree_util.tree_map_with_path(lambda path, _: scales.get(name(path), 1.0), tree)

  def init(params):
    factors(params)
    return optax.EmptyState()

  def update(updates, state, params=None):
    del params
    return jax.tree.map(lambda u, f: u * f if f != 1.0 else u, updates, factors(updates)), state
  return optax.GradientTransformation(init, update)


def build_optimizer(config, total_steps: int, steps_per_epoch: int) -> optax.GradientTransformation:
  """The configured optimizer on the configured schedule, after optional global-norm clipping, with the
  learning rates of optimizer.lr_scales's parameters scaled."""
  name = checks.check_choice(config.optimizer.name, tuple(OPTIMIZERS), 'optimizer.name')
  schedule = build_schedule(config, total_steps, steps_per_epoch)
  tx = OPTIMIZERS[name](schedule, config.optimizer)
  scales = parse_lr_scales(config.optimizer.get('lr_scales', ''))
  if scales:
    tx = optax.chain(tx, _scale_by_name(scales))
  if config.optimizer.clip_norm > 0:
    tx = optax.chain(optax.clip_by_global_norm(config.optimizer.clip_norm), tx)
  return tx
