"""Name-based task registry: `config.task.name` -> a task object.

Every task is a tasks.base.Task: the interface the train loop relies on.
"""
from typing import Callable

from configs import checks
from tasks import base

_TASKS: dict[str, Callable] = {}


def register(name: str):
  def decorator(cls):
    if not issubclass(cls, base.Task):
      raise TypeError(f'task {name!r}: {cls.__name__} must subclass tasks.base.Task')
    _TASKS[name] = cls
    return cls
  return decorator


def names() -> list[str]:
  return sorted(_TASKS)


def task_class(name: str):
  return _TASKS[checks.check_choice(name, names(), 'task.name')]


def build(config, workdir: str, resuming: bool = False):
  """The task of `config.task.name`; tasks that save state (a tokenizer) keep it in `workdir`.

  resuming: the workdir holds a checkpoint, so saved state must be reused as it is, never rebuilt.
  """
  return task_class(config.task.name)(config, workdir, resuming)
