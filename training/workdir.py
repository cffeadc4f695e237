"""The workdir's own bookkeeping: one process at a time (a lock file) and config.json, the config its
checkpoints were trained with.

A workdir holds one run. A resumed run must be the run its checkpoints belong to, so a config that
differs from config.json in a field that changes results is refused unless the change is allowed
(`--config_change=allow`), and then config.json records every such change with the step it took effect.
config.json is written only once the run knows which step it starts from, so a refused or failed
start leaves it describing the checkpoints beside it.
"""
import json
import os
import socket
import sys
import threading
import time

from flax import traverse_util

from configs import checks
from configs import renamed
from training import errors
from training import writers

LOCK_FILE = 'lock.json'
CONFIG_FILE = 'config.json'
# A live holder rewrites its lock this often; one not rewritten for STALE_SECONDS is taken over (its
# holder died on another host, or its pid was reused by another program after a restart).
HEARTBEAT_SECONDS = 30.0
STALE_SECONDS = 300.0
# Fields that say where and how a run is executed, not what it computes: they may change on resume.
UNCHECKED_PREFIXES = ('data.dir', 'data.cache_dir', 'log.', 'mesh.', 'checkpoint.max_to_keep', 'train.steps_per_call',
                      'init_from', 'eval.batch_size', 'profile.')
CONFIG_CHANGES = ('refuse', 'allow')


def _pid_alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # Someone else's live process.
    return True
  return True


class Lock:
  """WORKDIR/lock.json with the holder's pid and host while a run writes there; a second run is refused."""

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, LOCK_FILE)
    self.mine = {'pid': os.getpid(), 'host': socket.gethostname(), 'started': round(time.time(), 3)}
    self._stop = threading.Event()
    self._thread = None

  def _read(self):
    try:
      with open(self.path) as f:
        return json.load(f), os.path.getmtime(self.path)
    except FileNotFoundError:
      return None, None
    except (OSError, ValueError):  # A holder killed while writing it: no holder.
      return {}, 0.0

  def _dead(self, holder: dict, touched: float) -> bool:
    if time.time() - touched > STALE_SECONDS:
      return True
    if holder.get('host') == self.mine['host'] and isinstance(holder.get('pid'), int):
      return not _pid_alive(holder['pid'])
    return not holder  # Unreadable: never written whole.

  def acquire(self) -> None:
    try:
      fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
      holder, touched = self._read()
      if holder is not None and not self._dead(holder, touched):
        raise errors.WorkdirError(
            f'{os.path.dirname(self.path)!r} is in use by process {holder.get("pid")} on {holder.get("host")} '
            f'(lock {self.path!r}, refreshed {time.time() - touched:.0f} s ago); wait for it to end, or stop it. '
            f'A lock not refreshed for {STALE_SECONDS:.0f} s is taken over.') from None
      if holder:
        print(f'Taking over {self.path!r} from process {holder.get("pid")} on {holder.get("host")}, '
              'which is no longer running.', file=sys.stderr)
      writers.write_json(self.path, self.mine)
    else:
      with os.fdopen(fd, 'w') as f:
        json.dump(self.mine, f)
    self._thread = threading.Thread(target=self._heartbeat, daemon=True)
    self._thread.start()

  def _heartbeat(self) -> None:
    while not self._stop.wait(HEARTBEAT_SECONDS):
      try:
        os.utime(self.path)
      except OSError:
        return

  def release(self) -> None:
    self._stop.set()
    holder, _ = self._read()
    if holder == self.mine:
      os.remove(self.path)

  def __enter__(self):
    self.acquire()
    return self

  def __exit__(self, *exc):
    self.release()


def _config_fields(config_dict: dict) -> dict:
  """The checked fields, JSON-normalized (tuples as lists)."""
  flat = traverse_util.flatten_dict(json.loads(json.dumps(config_dict)), sep='.')
  return {k: v for k, v in flat.items() if not k.startswith(UNCHECKED_PREFIXES)}


def read_config(workdir: str) -> dict | None:
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return renamed.upgrade(json.load(f))


def config_changes(saved: dict, config_dict: dict) -> dict:
  """{field: [saved value, new value]} of the checked fields that differ."""
  saved_section = {k: v for k, v in saved.items() if k not in ('derived', 'config_changes')}
  old, new = _config_fields(saved_section), _config_fields(config_dict)
  for key, value in renamed.ADDED.items():  # Absent from an older record: it ran as this value does.
    if key not in old and new.get(key) == value:
      old[key] = value
  return {k: [old.get(k), new.get(k)] for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)}


def check_resumed_config(workdir: str, config_dict: dict, policy: str, step: int) -> list:
  """The change history config.json should hold for a run resumed at `step`; a refused change raises.

  policy 'refuse': any change of a checked field is a ConfigError naming the fields; 'allow': the
  change is added to the history.
  """
  try:
    checks.check_choice(policy, CONFIG_CHANGES, 'config_change')
  except ValueError as e:
    raise errors.ConfigError(str(e)) from None
  saved = read_config(workdir)
  if saved is None:
    return []
  history = saved.get('config_changes', [])
  changed = config_changes(saved, config_dict)
  if not changed:
    return history
  if policy == 'refuse':
    shown = lambda value: '(absent)' if value is None else repr(value)
    # model.name first: a model change explains the fields that come and go with it.
    keys = sorted(changed, key=lambda k: (k != 'model.name', k))
    listed = '; '.join(f'{k}: {shown(changed[k][0])} -> {shown(changed[k][1])}' for k in keys[:4])
    if len(keys) > 4:
      listed += f'; and {len(keys) - 4} more'
    raise errors.ConfigError(
        f'{workdir!r} holds a run trained with another config ({listed}); resume it with the config in '
        f'{os.path.join(workdir, CONFIG_FILE)!r}, pass --config_change=allow to continue it with this one '
        '(config.json then records the change), or train into a new workdir.')
  return history + [{'step': step, 'changed': changed}]


def write_config(workdir: str, config_dict: dict, derived: dict, history: list) -> None:
  record = dict(config_dict, derived=derived)
  if history:
    record['config_changes'] = history
  writers.write_json(os.path.join(workdir, CONFIG_FILE), record)
