"""Metrics to metrics.jsonl, TensorBoard and (with log.wandb_project) Weights & Biases; atomic JSON files."""
import json
import os
import sys
import time
import uuid

from data.files import DataError


def _summary_writer_class():
  """tensorboardX's SummaryWriter, imported without torch: tensorboardX imports torch whenever it is installed
  (only to accept torch tensors, which this project never passes it), and that costs every process about 200 MB
  and seconds of start-up where torch is installed for the reference tests."""
  blocked = 'torch' not in sys.modules
  if blocked:
    sys.modules['torch'] = None  # `import torch` raises ImportError, which tensorboardX expects.
  try:
    from tensorboardX import SummaryWriter
  finally:
    if blocked:
      del sys.modules['torch']  # A later `import torch` (the reference tests, benchmarks) works as usual.
  return SummaryWriter


SummaryWriter = _summary_writer_class()


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


WANDB_ID_FILE = 'wandb_id'  # The tracked run a workdir writes to, so that a resumed run continues it.


class WandbWriter:
  """The metrics of one workdir as one Weights & Biases run (pip install '.[tracking]').

  The run's id is kept in WORKDIR/wandb_id, so a resumed run continues the same tracked run; W&B keeps what
  it was sent, so the steps a resumed run repeats (those after its checkpoint) are not sent again.
  """

  def __init__(self, workdir: str, project: str, mode: str, config: dict):
    try:
      import wandb  # An optional dependency.
    except ImportError:
      raise DataError("log.wandb_project needs the wandb package: pip install -e '.[tracking]'.") from None
    id_path = os.path.join(workdir, WANDB_ID_FILE)
    if os.path.exists(id_path):
      with open(id_path) as f:
        run_id = f.read().strip()
    else:
      run_id = uuid.uuid4().hex[:12]
      with open(id_path + '.tmp', 'w') as f:
        f.write(run_id + '\n')
      os.replace(id_path + '.tmp', id_path)
    self._run = wandb.init(project=project, id=run_id, resume='allow', dir=workdir, mode=mode, config=config,
                           name=os.path.basename(os.path.abspath(workdir)), reinit='create_new')
    self.sent_through = -1  # Steps up to this one were sent by an earlier start of the run.

  def write(self, step: int, split: str, metrics: dict) -> None:
    if step > self.sent_through:
      self._run.log({f'{split}/{name}': float(value) for name, value in metrics.items()}, step=int(step))

  def close(self) -> None:
    self._run.finish()


class MetricWriter:
  """One JSON object per (step, split) in metrics.jsonl, the same scalars in TensorBoard and, given a
  WandbWriter, in Weights & Biases."""

  def __init__(self, workdir: str, active: bool = True, wandb: WandbWriter | None = None):
    """active=False (the other processes of a multi-host run): writes nothing."""
    self.path = os.path.join(workdir, 'metrics.jsonl')
    self.active = active
    self._tb = SummaryWriter(os.path.join(workdir, 'tensorboard')) if active else None
    self._wandb = wandb if active else None

  def truncate_after(self, step: int) -> None:
    """Drops records past `step`: a resumed run rewrites them, so none appear twice."""
    if not self.active:
      return
    records = read_jsonl(self.path)
    if self._wandb is not None and records:
      self._wandb.sent_through = max(r['step'] for r in records)
    self._rewrite([r for r in records if r['step'] <= step])

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
    if self._wandb is not None:
      self._wandb.write(step, split, metrics)

  def close(self) -> None:
    if self.active:
      self._tb.close()
      if self._wandb is not None:
        self._wandb.close()
