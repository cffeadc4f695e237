"""Fixed-shape batches over in-memory arrays.

Every batch has exactly `batch_size` rows so the step compiles once; a short
last batch is padded with zero rows whose `weight` is 0, and losses are
weighted means, so it trains exactly like Keras's partial batch.
"""
import numpy as np


def _padded(arrays: dict, index: np.ndarray, batch_size: int) -> dict:
  batch = {}
  for key, array in arrays.items():
    rows = np.zeros((batch_size,) + array.shape[1:], array.dtype)
    rows[:len(index)] = array[index]
    batch[key] = rows
  weight = np.zeros((batch_size,), np.float32)
  weight[:len(index)] = 1.0
  batch['weight'] = weight
  return batch


def num_examples(arrays: dict) -> int:
  sizes = {len(a) for a in arrays.values()}
  if len(sizes) != 1:
    raise ValueError(f'Arrays of one split differ in length: {sorted(sizes)}')
  return sizes.pop()


class ShuffledEpochs:
  """Endless shuffled epochs of batches; the batches of epoch e depend only on (seed, e).

  Its position is (epoch, batch index), saved with every checkpoint, so a
  resumed run draws exactly the batches an uninterrupted one would.
  Subclasses set `size`, `batch_size`, `seed` and `steps_per_epoch`, cut an
  epoch into batches of example indices (`epoch_batches`, from the epoch's
  generator) and turn those indices into arrays (`make_batch`).
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


class EpochBatcher(ShuffledEpochs):
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


def eval_batches(arrays: dict, batch_size: int):
  """The split in order, once, in padded fixed-shape batches."""
  size = num_examples(arrays)
  for start in range(0, size, batch_size):
    yield _padded(arrays, np.arange(start, min(start + batch_size, size)), batch_size)


class LengthGroupedBatcher(ShuffledEpochs):
  """Shuffled epochs of length-grouped batches.

  Each epoch permutes the examples, cuts the permutation into pools of
  batch_size * pool_batches, sorts each pool by `lengths` and cuts it into
  batches (so a batch holds examples of similar length, with little padding),
  then shuffles the order of the epoch's batches. Only the last pool can end in
  a short batch. Subclasses turn a batch's example indices into arrays
  (`make_batch`).
  """

  def __init__(self, lengths, batch_size: int, seed: int, pool_batches: int = 100):
    self._lengths = np.asarray(lengths)
    self.size = len(self._lengths)
    self.batch_size, self.seed = batch_size, seed
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
