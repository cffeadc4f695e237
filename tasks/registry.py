"""Name-based task registry: `config.task.name` -> a task object.

A task owns its data (batchers over its splits), its loss and its metrics, and
the carry a batch hands to the next (recurrent states of a stream, or ()).
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


def build(config, workdir: str):
  """The task of `config.task.name`; tasks that save state (a tokenizer) keep it in `workdir`."""
  return task_class(config.task.name)(config, workdir)
