"""Name-based model registry: `config.model.name` -> a Flax linen module.

A builder reads its fields from the `model` section of the config and returns
a frozen (hashable) module, used only through pure `init`/`apply`.
"""
from typing import Callable

from configs import checks

_BUILDERS: dict[str, Callable] = {}
_COUNT_BASED: set[str] = set()


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
