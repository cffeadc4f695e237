"""Fixed-shape batches: the one padding and batching layer of every task's data.

Every batch has exactly `batch_size` rows so the step compiles once; a short
last batch is filled with rows whose weight is 0 (and, where batches carry it,
whose 'index' is -1), and losses are weighted means, so it trains exactly like
Keras's partial batch. Sequences are right-padded to a length rounded up to a
multiple of `pad_multiple`, so few distinct shapes reach `jit`.

- EpochBatcher, eval_batches: rows of in-memory arrays.
- LengthGroupedBatcher, split_batches: sequences, with a task's make_batch
  (data/labeled.py, data/parallel.py) built on fill_rows and pad_sequences.
- Epochs: the resumable position every training batcher shares.
"""
import numpy as np


def round_up(n: int, multiple: int) -> int:
  return -(-n // multiple) * multiple


def round_up_coarse(n: int, minimum: int = 16) -> int:
  """n rounded up to at least `minimum`, keeping 3 significant bits (16, 20, 24, 28, 32, 40, 48, ...): at
  most 25% padding, and a few sizes per doubling, so sizes that vary a lot reach jit in few shapes."""
  n = max(n, minimum)
  return round_up(n, 1 << max(0, n.bit_length() - 3))


def fill_rows(values, batch_size: int, fill=0, dtype=None) -> np.ndarray:
  """values (R, ...) as the first R of batch_size rows; the other rows hold `fill`."""
  values = np.asarray(values, dtype)
  rows = np.full((batch_size,) + values.shape[1:], fill, values.dtype)
  rows[:len(values)] = values
  return rows


def pad_sequences(seqs: list, batch_size: int, pad_multiple: int, min_len: int = 1, pad_id: int = 0,
                  max_len: int = 0) -> tuple:
  """(ids (B, T) int32, length (B,) int32) of the sequences, right-padded with pad_id.

  T is the longest length, at least min_len and 1 (a batch of empty sequences still has a shape a model
  takes), rounded up to a multiple of pad_multiple but never past max_len (when set and the sequences fit it:
  sequences cut to max_len = 127 make batches of 127, not 128, for a model with 128 positions that adds a CLS);
  the rows after the sequences are all padding, length 0.
  """
  length_B = fill_rows([len(seq) for seq in seqs], batch_size, 0, np.int32)
  longest = max(1, min_len, int(length_B.max()))
  width = round_up(longest, pad_multiple)
  if max_len and longest <= max_len:
    width = min(width, max_len)
  ids_BT = np.full((batch_size, width), pad_id, np.int32)
  for row, seq in enumerate(seqs):
    ids_BT[row, :len(seq)] = seq
  return ids_BT, length_B


def _padded(arrays: dict, index: np.ndarray, batch_size: int) -> dict:
  batch = {key: fill_rows(array[index], batch_size) for key, array in arrays.items()}
  batch['weight'] = fill_rows(np.ones(len(index)), batch_size, 0, np.float32)
  return batch


def num_examples(arrays: dict) -> int:
  sizes = {len(a) for a in arrays.values()}
  if len(sizes) != 1:
    raise ValueError(f'Arrays of one split differ in length: {sorted(sizes)}')
  return sizes.pop()


class Epochs:
  """Endless epochs of batches; the batches of epoch e depend only on (seed, e).

  Its position is (epoch, batch index), saved with every checkpoint, so a
  resumed run draws exactly the batches an uninterrupted one would.
  Subclasses set `batch_size`, `seed` and `steps_per_epoch`, cut an epoch into
  batches (`epoch_batches`, from the epoch's generator: example indices, or
  anything `make_batch` takes) and turn each into arrays (`make_batch`).
  """
  epoch, index = 0, 0
  _batches_epoch, _batches = -1, None

  def epoch_batches(self, rng: np.random.Generator) -> list:
    raise NotImplementedError

  def make_batch(self, index: np.ndarray) -> dict:
    raise NotImplementedError

  def state(self) -> dict:
    return {'epoch': self.epoch, 'index': self.index}

  def restore(self, state: dict) -> None:
    self.epoch, self.index = int(state['epoch']), int(state['index'])

  def __iter__(self):
    return self

  def __next__(self) -> dict:
    if self._batches_epoch != self.epoch:
      self._batches = self.epoch_batches(np.random.default_rng([self.seed, self.epoch]))
      self._batches_epoch = self.epoch
    index = self._batches[self.index]
    self.index += 1
    if self.index == self.steps_per_epoch:
      self.epoch, self.index = self.epoch + 1, 0
    return self.make_batch(index)


class EpochBatcher(Epochs):
  """Each epoch a fresh permutation of the examples, cut into batches in order."""

  def __init__(self, arrays: dict, batch_size: int, seed: int):
    self.arrays = arrays
    self.batch_size = batch_size
    self.seed = seed
    self.size = num_examples(arrays)
    self.steps_per_epoch = -(-self.size // batch_size)

  def epoch_batches(self, rng: np.random.Generator) -> list:
    order = rng.permutation(self.size)
    return [order[start:start + self.batch_size] for start in range(0, self.size, self.batch_size)]

  def make_batch(self, index: np.ndarray) -> dict:
    return _padded(self.arrays, index, self.batch_size)


def split_batches(make_batch, size: int, batch_size: int, lengths=None):
  """Every example of a split once, as make_batch(indices) of at most batch_size examples each: in order,
  or sorted by `lengths` (stable: less padding; the batches' 'index' restores the split's order)."""
  order = np.arange(size) if lengths is None else np.argsort(lengths, kind='stable')
  for start in range(0, size, batch_size):
    yield make_batch(order[start:start + batch_size])


def eval_batches(arrays: dict, batch_size: int):
  """The split in order, once, in padded fixed-shape batches."""
  return split_batches(lambda index: _padded(arrays, index, batch_size), num_examples(arrays), batch_size)


class LengthGroupedBatcher(Epochs):
  """Shuffled epochs of length-grouped batches of make_batch(indices).

  Each epoch permutes the examples, cuts the permutation into pools of
  batch_size * pool_batches, sorts each pool by `lengths` and cuts it into
  batches (so a batch holds examples of similar length, with little padding),
  then shuffles the order of the epoch's batches. Only the last pool can end in
  a short batch. pool_batches = 1 gives uniformly random batches.
  """

  def __init__(self, lengths, batch_size: int, seed: int, make_batch, pool_batches: int = 100):
    self._lengths = np.asarray(lengths)
    self.size = len(self._lengths)
    self.batch_size, self.seed, self.make_batch = batch_size, seed, make_batch
    self.pool_size = batch_size * pool_batches
    full_pools, rest = divmod(self.size, self.pool_size)
    self.steps_per_epoch = full_pools * pool_batches + -(-rest // batch_size)

  def epoch_batches(self, rng: np.random.Generator) -> list:
    order = rng.permutation(self.size)
    batches = []
    for start in range(0, self.size, self.pool_size):
      pool = order[start:start + self.pool_size]
      pool = pool[np.argsort(self._lengths[pool], kind='stable')]
      batches += [pool[i:i + self.batch_size] for i in range(0, len(pool), self.batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]
