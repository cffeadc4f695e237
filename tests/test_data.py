"""The series generator against the formula, batching order and position, data-file errors."""
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


def test_missing_data_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match='SEQLAB_DATA_DIR'):
    files.data_path('', 'tinyshakespeare/input.txt')
  with pytest.raises(FileNotFoundError, match=r"'/no/such/dir'.*tinyshakespeare/input.txt"):
    files.data_path('/no/such/dir', 'tinyshakespeare/input.txt')
  with pytest.raises(FileNotFoundError, match=r"Expected 'tinyshakespeare/input.txt' in data directory"):
    files.data_path(str(tmp_path), 'tinyshakespeare/input.txt')
  (tmp_path / 'a.txt').write_text('x')
  assert files.data_path(str(tmp_path), 'a.txt') == str(tmp_path / 'a.txt')
