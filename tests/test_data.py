"""The series generator against the formula, the batching layer against naive loops, data-file errors."""
import ml_collections
import numpy as np
import pytest

from data import batching
from data import files
from data import timeseries


def test_generator_matches_the_formula_elementwise():
  rng = np.random.RandomState(7)
  series = timeseries.generate_series(5, 11, np.random.RandomState(7))
  f1, f2, o1, o2 = rng.rand(4, 5, 1)
  noise = rng.rand(5, 11)
  for i in range(5):
    for j, t in enumerate(np.linspace(0, 1, 11)):
      value = (0.5 * np.sin((t - o1[i, 0]) * (f1[i, 0] * 10 + 10))
               + 0.2 * np.sin((t - o2[i, 0]) * (f2[i, 0] * 20 + 20)) + 0.1 * (noise[i, j] - 0.5))
      assert series[i, j, 0] == pytest.approx(value, abs=1e-6)


def test_generator_shapes_and_statistics():
  series = timeseries.generate_series(20000, 51, np.random.RandomState(0))
  assert series.shape == (20000, 51, 1) and series.dtype == np.float32
  assert np.abs(series).max() <= 0.5 + 0.2 + 0.05
  # Random phases make every step zero-mean with variance 0.5²/2 + 0.2²/2 + 0.1²/12.
  assert abs(series.mean()) < 0.01
  assert series.var() == pytest.approx(0.125 + 0.02 + 0.01 / 12, rel=0.03)


def test_splits_follow_the_book():
  config = ml_collections.ConfigDict(dict(seed=42, num_series=10000, num_steps=50, num_train=7000, num_valid=2000))
  splits = timeseries.load_splits(config)
  assert {k: v['inputs'].shape for k, v in splits.items()} == {
      'train': (7000, 50, 1), 'valid': (2000, 50, 1), 'test': (1000, 50, 1)}
  assert splits['valid']['targets'].shape == (2000, 1)
  series = timeseries.generate_series(10000, 51, np.random.RandomState(42))
  np.testing.assert_array_equal(splits['valid']['inputs'], series[7000:9000, :50])
  np.testing.assert_array_equal(splits['test']['targets'], series[9000:, 50])
  # The book's naive forecast on this data: 0.0202.
  naive_mse = np.mean((splits['valid']['inputs'][:, -1] - splits['valid']['targets']) ** 2)
  assert naive_mse == pytest.approx(0.0202, abs=5e-5)


def _arrays(n):
  return {'inputs': np.arange(n, dtype=np.float32)[:, None], 'targets': np.arange(n)[:, None] * 2}


def test_each_epoch_visits_every_example_once_with_a_partial_last_batch():
  batcher = batching.EpochBatcher(_arrays(23), batch_size=5, seed=0)
  assert batcher.steps_per_epoch == 5
  orders = []
  for _ in range(2):
    seen = []
    for i in range(5):
      batch = next(batcher)
      real = batch['weight'] > 0
      assert real.sum() == (3 if i == 4 else 5)
      assert not batch['inputs'][~real].any()
      np.testing.assert_array_equal(batch['targets'][real], 2 * batch['inputs'][real])
      seen += batch['inputs'][real, 0].astype(int).tolist()
    assert sorted(seen) == list(range(23))
    orders.append(seen)
  assert orders[0] != orders[1]


def test_restored_position_gives_the_same_batches():
  a = batching.EpochBatcher(_arrays(23), batch_size=5, seed=3)
  for _ in range(7):
    next(a)
  b = batching.EpochBatcher(_arrays(23), batch_size=5, seed=3)
  b.restore(a.state())
  for _ in range(8):
    np.testing.assert_array_equal(next(a)['inputs'], next(b)['inputs'])


def test_eval_batches_cover_the_split_in_order():
  batches = list(batching.eval_batches(_arrays(12), 5))
  assert len(batches) == 3
  real = np.concatenate([b['inputs'][b['weight'] > 0, 0] for b in batches])
  np.testing.assert_array_equal(real, np.arange(12))


def _naive_padded(seqs, batch_size, pad_multiple, min_len, pad_id, max_len=0):
  """Rows built one value at a time: the width grows from the longest (at least min_len and 1) to a multiple,
  stopping at max_len if it gets there."""
  width = max([1, min_len] + [len(seq) for seq in seqs])
  while width % pad_multiple and width != max_len:
    width += 1
  rows = [[int(seq[t]) if t < len(seq) else pad_id for t in range(width)] for seq in seqs]
  rows += [[pad_id] * width for _ in range(batch_size - len(seqs))]
  return rows, [len(seq) for seq in seqs] + [0] * (batch_size - len(seqs))


@pytest.mark.parametrize('pad_multiple,min_len,pad_id,max_len', [(1, 1, 0, 0), (8, 1, 0, 0), (4, 10, 7, 0),
                                                                 (3, 0, 2, 0), (8, 1, 0, 11), (4, 2, 1, 7)])
def test_pad_sequences_equals_a_naive_loop(pad_multiple, min_len, pad_id, max_len):
  rng = np.random.default_rng(pad_multiple + min_len)
  for trial in range(20):
    batch_size = int(rng.integers(1, 9))
    seqs = [rng.integers(10, 99, rng.integers(0, max_len + 1 if max_len else 13)).astype(np.int32)
            for _ in range(rng.integers(1, batch_size + 1))]
    if trial == 0:
      seqs = [np.zeros(0, np.int32)] * batch_size  # Only empty sequences: still one column at least.
    ids_BT, length_B = batching.pad_sequences(seqs, batch_size, pad_multiple, min_len, pad_id, max_len)
    rows, lengths = _naive_padded(seqs, batch_size, pad_multiple, min_len, pad_id, max_len)
    assert ids_BT.dtype == np.int32 and length_B.dtype == np.int32
    assert ids_BT.tolist() == rows and length_B.tolist() == lengths


def test_fill_rows_keeps_values_then_fills():
  values = np.arange(6, dtype=np.int64).reshape(3, 2)
  rows = batching.fill_rows(values, 5, fill=-1)
  assert rows.dtype == np.int64 and rows.tolist() == [[0, 1], [2, 3], [4, 5], [-1, -1], [-1, -1]]
  assert batching.fill_rows([1, 2], 4, 0, np.float32).tolist() == [1.0, 2.0, 0.0, 0.0]
  assert batching.fill_rows(np.zeros(0, np.int32), 2, -1, np.int32).tolist() == [-1, -1]


def test_split_batches_take_every_example_once_in_order_or_stably_by_length():
  lengths = [3, 1, 3, 0, 2, 1, 3]
  by_length = [i for _, i in sorted((n, i) for i, n in enumerate(lengths))]  # Ties keep the split's order.
  got = [index.tolist() for index in batching.split_batches(lambda index: index, 7, 3, lengths=lengths)]
  assert got == [by_length[0:3], by_length[3:6], by_length[6:7]]
  assert [index.tolist() for index in batching.split_batches(lambda index: index, 7, 3)] == [
      [0, 1, 2], [3, 4, 5], [6]]
  assert list(batching.split_batches(lambda index: index, 0, 3)) == []


def test_length_grouped_batches_are_the_sorted_pools_of_each_epochs_permutation():
  """Against the description: permute, cut pools, sort each (stably) by length, cut batches, shuffle them."""
  rng = np.random.default_rng(0)
  lengths = rng.integers(0, 9, 47)
  batcher = batching.LengthGroupedBatcher(lengths, 4, seed=5, make_batch=lambda index: index, pool_batches=3)
  assert batcher.steps_per_epoch == 3 * 3 + 3  # Three pools of 12 (3 batches each), then 11 examples in 3.
  for epoch in range(2):
    draw = np.random.default_rng([5, epoch])
    order = draw.permutation(47).tolist()
    expected = []
    for start in range(0, 47, 12):
      pool = sorted(order[start:start + 12], key=lambda i: lengths[i])  # sorted() is stable.
      expected += [pool[i:i + 4] for i in range(0, len(pool), 4)]
    expected = [expected[i] for i in draw.permutation(len(expected))]
    assert [next(batcher).tolist() for _ in range(batcher.steps_per_epoch)] == expected


def test_missing_data_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match='SEQLAB_DATA_DIR'):
    files.data_path('', 'tinyshakespeare/input.txt')
  with pytest.raises(FileNotFoundError, match=r"'/no/such/dir'.*tinyshakespeare/input.txt"):
    files.data_path('/no/such/dir', 'tinyshakespeare/input.txt')
  with pytest.raises(FileNotFoundError, match=r"Expected 'tinyshakespeare/input.txt' in data directory"):
    files.data_path(str(tmp_path), 'tinyshakespeare/input.txt')
  (tmp_path / 'a.txt').write_text('x')
  assert files.data_path(str(tmp_path), 'a.txt') == str(tmp_path / 'a.txt')
