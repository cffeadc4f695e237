"""Loading config files, applying overrides and checking a config before anything compiles."""
import importlib.util
import os

import jax
import ml_collections

from configs import checks
import models
import tasks
from training import errors
from training import optim
from training import sharding
from training import stored_params

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


ConfigError = errors.ConfigError


def load_module(path: str):
  """Imports a config or sweep file by path (relative paths may also be relative to the repo)."""
  if not os.path.isabs(path) and not os.path.exists(path):
    path = os.path.join(REPO_ROOT, path)
  if not os.path.exists(path):
    raise ConfigError(f'Config file {path!r} does not exist.')
  module_spec = importlib.util.spec_from_file_location(f'_seqlab_config_{abs(hash(path))}', path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module


def load_config(spec: str) -> ml_collections.ConfigDict:
  """Loads `path/to/config.py[:ARG]` as ml_collections' --config flag does."""
  path, _, arg = spec.partition(':')
  module = load_module(path)
  return module.get_config(arg) if arg else module.get_config()


def resolve_key(config, dotted: str):
  """Returns (parent ConfigDict, last key) of `a.b.c`, or raises naming the valid keys."""
  node, parts = config, dotted.split('.')
  for depth, part in enumerate(parts):
    prefix = '.'.join(parts[:depth])
    if not isinstance(node, (ml_collections.ConfigDict, dict)):
      raise ConfigError(f'Config key {dotted!r}: {prefix!r} is a value, not a section.')
    if part not in node:
      where = f'under {prefix!r}' if prefix else 'at the top level'
      raise ConfigError(f'Unknown config key {dotted!r}; valid keys {where}: {", ".join(sorted(node.keys()))}.')
    if depth < len(parts) - 1:
      node = node[part]
  return node, parts[-1]


def apply_overrides(config, overrides: dict) -> ml_collections.ConfigDict:
  """Returns a copy of `config` with {'a.b': value} applied; unknown keys are errors."""
  config = ml_collections.ConfigDict(config.to_dict())
  for dotted, value in overrides.items():
    parent, key = resolve_key(config, dotted)
    old = parent[key]
    if isinstance(old, tuple) and isinstance(value, list):
      value = tuple(value)
    try:
      parent[key] = value
    except TypeError as e:
      raise ConfigError(f'Config key {dotted!r} holds a {type(old).__name__}; got {value!r}: {e}') from e
  return config


def explain_flag_overrides(argv: list[str]) -> str | None:
  """Finds the first `--config.KEY=VALUE` that names no config key and explains it."""
  spec = next((a.split('=', 1)[1] for a in argv if a.startswith('--config=')), None)
  if spec is None:
    return None
  config = load_config(spec)
  for arg in argv:
    if arg.startswith('--config.'):
      try:
        resolve_key(config, arg[len('--config.'):].split('=', 1)[0])
      except ConfigError as e:
        return str(e)
  return None


def _choice(value, choices, key):
  try:
    checks.check_choice(value, choices, key)
  except ValueError as e:
    raise ConfigError(str(e)) from None


def _check_mesh(config) -> None:
  """The mesh fits the devices, the rules parse, the batches and heads divide: before any compile."""
  try:
    sizes = dict(zip(sharding.AXES, sharding.mesh_shape(config.mesh, jax.device_count())))
    sharding.check_rules(config.mesh.rules)
    micro_batch = config.train.batch_size // max(config.train.grad_accum_steps, 1)
    sharding.check_divisible(sizes, {'train.batch_size': config.train.batch_size,
                                     'train.batch_size / train.grad_accum_steps': micro_batch,
                                     'eval.batch_size': config.eval.batch_size or config.train.batch_size},
                             config.model.get('num_heads', 0))
  except sharding.ShardingError as e:
    raise ConfigError(str(e)) from e


def validate(config) -> None:
  """Checks names and values against what exists; runs before any data load or compile."""
  _choice(config.task.name, tasks.names(), 'task.name')
  _choice(config.data.name, tasks.registry.task_class(config.task.name).datasets, 'data.name')
  _choice(config.model.name, models.names(), 'model.name')
  _choice(config.optimizer.name, list(optim.OPTIMIZERS), 'optimizer.name')
  try:
    optim.parse_lr_scales(config.optimizer.get('lr_scales', ''))
  except ValueError as e:
    raise ConfigError(str(e)) from e
  _choice(config.schedule.name, list(optim.SCHEDULES), 'schedule.name')
  for split in config.eval.splits.split(','):
    _choice(split, ['train', 'valid', 'test'], 'eval.splits entry')
  positive = {'train.batch_size': config.train.batch_size,
              'optimizer.learning_rate': config.optimizer.learning_rate,
              'log.every_steps': config.log.every_steps, 'train.steps_per_call': config.train.steps_per_call,
              'train.grad_accum_steps': config.train.grad_accum_steps}
  for key, value in positive.items():
    if not value > 0:
      raise ConfigError(f'{key} must be > 0; got {value!r}.')
  non_negative = {'train.num_steps': config.train.num_steps, 'train.num_epochs': config.train.num_epochs,
                  'optimizer.clip_norm': config.optimizer.clip_norm, 'eval.every_steps': config.eval.every_steps,
                  'eval.batch_size': config.eval.batch_size, 'checkpoint.every_steps': config.checkpoint.every_steps,
                  'schedule.warmup_steps': config.schedule.warmup_steps,
                  'profile.start_step': config.profile.start_step, 'profile.num_steps': config.profile.num_steps,
                  'eval.num_batches': config.eval.num_batches}
  if config.train.max_loss < 0 and config.train.max_loss != -1:
    raise ConfigError(f'train.max_loss must be > 0, 0 (the task\'s default) or -1 (no limit); '
                      f'got {config.train.max_loss!r}.')
  for key, value in non_negative.items():
    if value < 0:
      raise ConfigError(f'{key} must be >= 0; got {value!r}.')
  _choice(config.eval.select_mode, ['max', 'min'], 'eval.select_mode')
  _choice(config.log.wandb_mode, ['online', 'offline', 'disabled'], 'log.wandb_mode')
  if config.train.batch_size % config.train.grad_accum_steps:
    raise ConfigError(f'train.batch_size {config.train.batch_size} does not divide into train.grad_accum_steps '
                      f'{config.train.grad_accum_steps} micro-batches; choose a divisor of it.')
  _check_mesh(config)
  if config.init_from and not stored_params.has_pretrained(config.init_from):
    raise ConfigError(f'init_from {config.init_from!r} is not a trained workdir (it has no checkpoints/ and no '
                      f'{stored_params.EXPORT_FILE}).')
  task_class = tasks.registry.task_class(config.task.name)
  if config.task.get('norm_stabilizer', 0.0) < 0:
    raise ConfigError(f'task.norm_stabilizer must be >= 0 (0 = off); got {config.task.norm_stabilizer!r}.')
  if config.task.get('norm_stabilizer', 0.0) and not task_class.supports_norm_stabilizer:
    supported = sorted(name for name in tasks.registry.names()
                       if tasks.registry.task_class(name).supports_norm_stabilizer)
    raise ConfigError(f'task.norm_stabilizer is for the recurrent models of tasks {", ".join(supported)}; '
                      f'task.name={config.task.name!r} does not add it.')
  try:  # The task's own fields.
    task_class.check_config(config)
  except (ValueError, KeyError, AttributeError) as e:
    raise ConfigError(str(e)) from e
  try:  # The builder checks the model's own fields; data-dependent sizes get placeholders.
    models.build(config.model, **tasks.registry.task_class(config.task.name).placeholder_dims)
  except (ValueError, KeyError, AttributeError) as e:
    raise ConfigError(str(e)) from e
