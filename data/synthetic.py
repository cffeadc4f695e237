"""Synthetic sequence tasks generated from a seed: the adding problem (Hochreiter & Schmidhuber 1997; Le et al.
2015) and the copying-memory task (Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016)."""
import math

import numpy as np


def adding_problem(num: int, length: int, rng: np.random.Generator):
  """Inputs (num, length, 2): a value in [0, 1) and a marker; exactly two markers are 1, one in
  each half of the sequence. Target (num, 1): the sum of the two marked values. Always answering
  1 scores MSE Var(U + U') = 1/6."""
  values = rng.random((num, length), dtype=np.float32)
  half = length // 2
  first = rng.integers(0, half, num)
  second = rng.integers(half, length, num)
  markers = np.zeros((num, length), np.float32)
  rows = np.arange(num)
  markers[rows, first] = 1.0
  markers[rows, second] = 1.0
  targets = (values[rows, first] + values[rows, second])[:, None]
  return np.stack([values, markers], axis=-1), targets.astype(np.float32)


def adding_splits(data_config) -> dict:
  """train/valid/test splits, each generated from its own stream of the data seed."""
  return _splits(data_config, lambda size, rng: adding_problem(size, data_config.length, rng))


def _splits(data_config, generate) -> dict:
  sizes = {'train': data_config.num_train, 'valid': data_config.num_valid, 'test': data_config.num_test}
  splits = {}
  for index, (name, size) in enumerate(sizes.items()):
    inputs, targets = generate(size, np.random.default_rng([data_config.seed, index]))
    splits[name] = {'inputs': inputs, 'targets': targets}
  return splits


# The copying task's alphabet: 0 blank, 1..8 the symbols to remember, 9 the delimiter ("recall now").
COPY_BLANK, COPY_SYMBOLS, COPY_DELIMITER, COPY_CLASSES = 0, 8, 9, 10
COPY_LENGTH = 10  # Symbols to remember.


def copy_memory(num: int, delay: int, rng: np.random.Generator):
  """Arjovsky et al.'s copying task at T = delay: (inputs, targets), each int8 (num, T + 20).

  Input: 10 symbols from 1..8, T - 1 blanks, the delimiter, 10 blanks. Target: T + 10 blanks, then the
  10 symbols in order. A model must hold the symbols across the T steps in between.
  """
  symbols = rng.integers(1, COPY_SYMBOLS + 1, (num, COPY_LENGTH), dtype=np.int8)
  length = delay + 2 * COPY_LENGTH
  inputs = np.full((num, length), COPY_BLANK, np.int8)
  targets = np.full((num, length), COPY_BLANK, np.int8)
  inputs[:, :COPY_LENGTH] = symbols
  inputs[:, delay + COPY_LENGTH - 1] = COPY_DELIMITER
  targets[:, -COPY_LENGTH:] = symbols
  return inputs, targets


def copy_baseline(delay: int) -> float:
  """Cross-entropy (nats per step) of the best memoryless answer: blank until the delimiter's 10 recall steps,
  then a uniform guess among the 8 symbols: 10 log 8 / (T + 20)."""
  return COPY_LENGTH * math.log(COPY_SYMBOLS) / (delay + 2 * COPY_LENGTH)


def copy_splits(data_config) -> dict:
  """train/valid/test splits of the copying task at T = data.length, each from its own stream of the data seed."""
  return _splits(data_config, lambda size, rng: copy_memory(size, data_config.length, rng))
