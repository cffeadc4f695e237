"""Name-based model registry: `config.model.name` -> a Flax linen module.

A builder makes its module with `from_config`, which reads every field the module declares from the
`model` section of the config, then checks the built (frozen, hashable) module's values. The module is
used only through pure `init`/`apply`. A module's `dtype` field is read from model.dtype by name ('float32' or
'bfloat16', see models/precision.py) and checked there.
"""
import inspect
import typing
from typing import Callable

from configs import checks
from models import precision

_BUILDERS: dict[str, Callable] = {}
_COUNT_BASED: set[str] = set()
_NOT_FIELDS = ('parent', 'name')  # Flax's own constructor arguments; model.name is the registry key.


def register(name: str, count_based: bool = False):
  """count_based: the model is fitted by counting (task.fit), not by gradient steps, and has no params."""
  def decorator(builder: Callable) -> Callable:
    if name in _BUILDERS:
      raise ValueError(f'model {name!r} is registered twice')
    _BUILDERS[name] = builder
    if count_based:
      _COUNT_BASED.add(name)
    return builder
  return decorator


def is_count_based(name: str) -> bool:
  return name in _COUNT_BASED


def names() -> list[str]:
  return sorted(_BUILDERS)


def build(model_config, **dims):
  """Returns the module that `model_config.name` names; `dims` come from the data (e.g. vocab_size)."""
  name = checks.check_choice(model_config.name, names(), 'model.name')
  return _BUILDERS[name](model_config, **dims)


def from_config(module_cls, config, **given):
  """module_cls built from the model config: each constructor field (a dataclass field) is `given` (sizes
  that come from the data, values derived from the config), else read from the config field of the same
  name, else left at its default. Tuple fields get tuples (config.json holds lists; the module must hash); the
  `dtype` field gets the jnp dtype that model.dtype names (absent, as in configs recorded before the field
  existed: the module's default, float32).
  Config fields that no module field reads are ignored: one config section serves several models."""
  fields = dict(given)
  for field in inspect.signature(module_cls).parameters.values():
    if field.name in fields or field.name in _NOT_FIELDS:
      continue
    if field.name in config:
      value = config[field.name]
      if field.name == 'dtype':
        value = precision.from_name(value)
      fields[field.name] = tuple(value) if typing.get_origin(field.annotation) is tuple else value
    elif field.default is inspect.Parameter.empty:
      raise ValueError(f'model {config.name!r} needs model.{field.name}; the config does not set it.')
  return module_cls(**fields)


def check_dropout(model, fields=('dropout',)) -> None:
  for field in fields:
    if not 0 <= getattr(model, field) < 1:
      raise ValueError(f'model.{field} must be in [0, 1); got {getattr(model, field)}.')


def check_positive(model, fields) -> None:
  """Each field (an int, or a tuple of them) is >= 1."""
  for field in fields:
    values = getattr(model, field)
    if any(v < 1 for v in (values if isinstance(values, tuple) else (values,))):
      raise ValueError(f'model.{field} must be >= 1; got {values}.')
