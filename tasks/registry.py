"""Name-based task registry: `config.task.name` -> a task object.

A task owns its data (splits of numpy arrays), its loss and its metrics.
Metrics are returned as {name: (weighted sum, weight)} so that batches and
steps add up exactly and the host divides once.
"""
from typing import Callable

_TASKS: dict[str, Callable] = {}


def register(name: str):
  def decorator(cls):
    _TASKS[name] = cls
    return cls
  return decorator


def names() -> list[str]:
  return sorted(_TASKS)


def task_class(name: str):
  if name not in _TASKS:
    raise ValueError(f'Unknown task.name {name!r}; choose one of: {", ".join(names())}.')
  return _TASKS[name]


def build(config):
  return task_class(config.task.name)(config)
