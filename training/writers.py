"""Metrics to metrics.jsonl and TensorBoard; small helpers for atomic JSON files."""
import json
import os
import sys
import time

from tensorboardX import SummaryWriter

from data.files import DataError


def write_json(path: str, obj) -> None:
  """Writes atomically, so a killed process never leaves half a file."""
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(obj, f, indent=2, sort_keys=True)
    f.write('\n')
  os.replace(tmp, path)


def read_jsonl(path: str) -> list[dict]:
  """The records of a JSONL file. A last line cut short (a process killed while appending it) is dropped
  with a warning; a bad line before the last is an error naming it."""
  if not os.path.exists(path):
    return []
  with open(path, encoding='utf-8', errors='replace') as f:
    lines = [(number, line) for number, line in enumerate(f, 1) if line.strip()]
  records = []
  for i, (number, line) in enumerate(lines):
    try:
      records.append(json.loads(line))
    except ValueError:
      if i < len(lines) - 1:
        raise DataError(f'{path!r} line {number} is not a JSON record: {line[:80]!r}.') from None
      print(f'Warning: dropping the half-written last line {number} of {path!r}.', file=sys.stderr)
  return records


class MetricWriter:
  """One JSON object per (step, split) in metrics.jsonl, the same scalars in TensorBoard."""

  def __init__(self, workdir: str, active: bool = True):
    """active=False (the other processes of a multi-host run): writes nothing."""
    self.path = os.path.join(workdir, 'metrics.jsonl')
    self.active = active
    self._tb = SummaryWriter(os.path.join(workdir, 'tensorboard')) if active else None

  def truncate_after(self, step: int) -> None:
    """Drops records past `step`: a resumed run rewrites them, so none appear twice."""
    if not self.active:
      return
    self._rewrite([r for r in read_jsonl(self.path) if r['step'] <= step])

  def drop(self, step: int, keep: str) -> None:
    """Drops the records of `step` but those of split `keep`."""
    if not self.active:
      return
    self._rewrite([r for r in read_jsonl(self.path) if r['step'] != step or r['split'] == keep])

  def _rewrite(self, records: list[dict]) -> None:
    tmp = self.path + '.tmp'
    with open(tmp, 'w') as f:
      f.writelines(json.dumps(r) + '\n' for r in records)
    os.replace(tmp, self.path)

  def write(self, step: int, split: str, metrics: dict) -> None:
    if not self.active:
      return
    record = {'step': int(step), 'split': split, 'wall_time': round(time.time(), 3)}
    record.update({k: float(v) for k, v in metrics.items()})
    with open(self.path, 'a') as f:
      f.write(json.dumps(record) + '\n')
    for name, value in metrics.items():
      self._tb.add_scalar(f'{split}/{name}', float(value), int(step))

  def close(self) -> None:
    if self.active:
      self._tb.close()
