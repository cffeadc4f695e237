"""Fixed-shape language-model batches over one token stream.

Every batch is {'inputs': (B, T) int32, 'targets': (B, T) int32, 'weight':
(B, T) float32, 'reset': () bool}: targets are the next tokens of inputs in the
stream, padded positions have weight 0 (losses are weighted means), and `reset`
tells a recurrent model to start from a zero state instead of the carried one.

- StreamBatcher: contiguous rows for truncated BPTT (Zaremba et al., 2014).
- eval_stream_batches: the same layout once, scoring every target exactly once.
- RandomWindowBatcher: independent random windows (nanoGPT).
"""
import mmap

import numpy as np

from data import batching


def memory_map(ids: np.ndarray):
  """The mmap.mmap that ids (or the array it views) lies over, or None."""
  while ids is not None and not isinstance(ids, mmap.mmap):
    ids = ids.obj if isinstance(ids, memoryview) else getattr(ids, 'base', None)
  return ids


def _unmap_pages(ids: np.ndarray) -> None:
  """Drops this process's mappings of the pages a batch read, when ids lie over a memory map
  (data/token_cache.py). The kernel maps whole large pages around each read window and keeps them mapped,
  so over a run the resident memory would grow to the token file's size; unmapped, they stay in the page
  cache (no reread from disk) and count against no process."""
  mapped = memory_map(ids)
  if mapped is not None:
    mapped.madvise(mmap.MADV_DONTNEED)


def _as_ids(ids, min_len: int) -> np.ndarray:
  """ids as they are (a memmap stays one: windows are read and widened to int32 as they are cut)."""
  if not isinstance(ids, np.ndarray):
    ids = np.asarray(ids)
  if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
    raise ValueError(f'Expected a 1-D integer token stream, got {ids.dtype} of shape {ids.shape}.')
  if len(ids) < min_len:
    raise ValueError(f'The token stream has {len(ids)} tokens; this batching needs at least {min_len}.')
  return ids


def _window(inputs_BL: np.ndarray, targets_BL: np.ndarray, start: int, seq_len: int, reset: bool) -> dict:
  """Columns [start, start + seq_len) of row-aligned arrays as int32, zero-padded to seq_len with weight 0."""
  batch_size = len(inputs_BL)
  size = min(seq_len, inputs_BL.shape[1] - start)
  batch = {'inputs': np.zeros((batch_size, seq_len), np.int32),
           'targets': np.zeros((batch_size, seq_len), np.int32),
           'weight': np.zeros((batch_size, seq_len), np.float32)}
  batch['inputs'][:, :size] = inputs_BL[:, start:start + size]
  batch['targets'][:, :size] = targets_BL[:, start:start + size]
  batch['weight'][:, :size] = 1.0
  batch['reset'] = np.array(reset)
  return batch


class StreamBatcher(batching.Epochs):
  """Endless epochs over the stream cut into batch_size contiguous rows.

  The first batch_size * (len(ids) // batch_size) tokens are laid out row-major
  as (B, L); window w holds columns [w T, (w + 1) T) of the inputs and the same
  columns shifted by one as targets, so row r of window w + 1 continues row r of
  window w and a carried recurrent state sees one unbroken text per row. An
  epoch is ceil((L - 1) / T) windows; the last may be short and is padded with
  weight 0. Epochs are identical, and `reset` is set on each one's first window.
  Its position is (epoch, window), saved with every checkpoint like EpochBatcher.
  """
  seed = 0  # Epochs draw nothing: every epoch is the windows in order.

  def __init__(self, ids, batch_size: int, seq_len: int):
    ids = _as_ids(ids, 2 * batch_size)
    self.batch_size, self.seq_len = batch_size, seq_len
    row_len = len(ids) // batch_size
    rows_BL = ids[:batch_size * row_len].reshape(batch_size, row_len)
    self._inputs_BL, self._targets_BL = rows_BL[:, :-1], rows_BL[:, 1:]  # Views: nothing is copied.
    self.steps_per_epoch = -(-(row_len - 1) // seq_len)

  def epoch_batches(self, rng: np.random.Generator) -> list:
    return list(range(self.steps_per_epoch))

  def make_batch(self, window: int) -> dict:
    batch = _window(self._inputs_BL, self._targets_BL, window * self.seq_len, self.seq_len, reset=window == 0)
    _unmap_pages(self._inputs_BL)
    return batch


def eval_stream_batches(ids, batch_size: int, seq_len: int):
  """The stream once, in order, scoring each of its len(ids) - 1 targets exactly once.

  The len(ids) - 1 predictions (ids[i] -> ids[i + 1]) are dealt into batch_size rows of
  L = ceil((len(ids) - 1) / batch_size) consecutive predictions: row r predicts
  targets ids[r L + 1 : (r + 1) L + 1] from inputs ids[r L : (r + 1) L], so
  neighbouring rows share one token (the last target of row r is the first
  input of row r + 1) and no target repeats. The rows' tail beyond len(ids) - 1 (only
  the last rows, and only when batch_size does not divide len(ids) - 1) is padded with
  weight 0. The rows are then read in windows of seq_len columns exactly as in
  StreamBatcher, the last window padded with weight 0, and `reset` is set on
  the first window. Weighted targets, read row by row across the windows, are
  ids[1:]; the first predictions of each row see no earlier context, the price
  of batch_size parallel rows.
  """
  ids = _as_ids(ids, 2)
  num_predictions = len(ids) - 1
  row_len = -(-num_predictions // batch_size)
  # Windows are gathered from the stream as they are needed, so a split of any size costs one window.
  row_starts_B1 = (np.arange(batch_size) * row_len)[:, None]
  for start in range(0, row_len, seq_len):
    columns_T = start + np.arange(seq_len)
    positions_BT = row_starts_B1 + columns_T
    valid_BT = (positions_BT < num_predictions) & (columns_T < row_len)
    positions_BT = np.where(valid_BT, positions_BT, 0)
    batch = {'inputs': np.where(valid_BT, ids[positions_BT], 0).astype(np.int32),
             'targets': np.where(valid_BT, ids[positions_BT + 1], 0).astype(np.int32),
             'weight': valid_BT.astype(np.float32), 'reset': np.array(start == 0)}
    _unmap_pages(ids)
    yield batch


class RandomWindowBatcher:
  """nanoGPT-style batches of batch_size windows at uniformly random offsets.

  The windows of step s depend only on (seed, s), so a run resumed at step s
  draws what an uninterrupted one would; its position is the step. Windows are
  unrelated, so `reset` is always set. steps_per_epoch is nominal: the steps
  that predict as many tokens as the stream holds.
  """

  def __init__(self, ids, batch_size: int, seq_len: int, seed: int):
    self.ids = _as_ids(ids, seq_len + 1)
    self.batch_size, self.seq_len, self.seed = batch_size, seq_len, seed
    self.steps_per_epoch = max(1, (len(self.ids) - 1) // (batch_size * seq_len))
    self.step = 0

  def state(self) -> dict:
    return {'step': self.step}

  def restore(self, state: dict) -> None:
    self.step = int(state['step'])

  def __iter__(self):
    return self

  def __next__(self) -> dict:
    rng = np.random.default_rng([self.seed, self.step])
    # Offsets up to len - seq_len - 1 leave room for the last target.
    starts_B = rng.integers(0, len(self.ids) - self.seq_len, size=self.batch_size)
    positions_BT = starts_B[:, None] + np.arange(self.seq_len)
    self.step += 1
    batch = {'inputs': self.ids[positions_BT].astype(np.int32), 'targets': self.ids[positions_BT + 1].astype(np.int32),
             'weight': np.ones((self.batch_size, self.seq_len), np.float32), 'reset': np.array(True)}
    _unmap_pages(self.ids)
    return batch
