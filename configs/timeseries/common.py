"""Shared settings of the time-series forecasting configs (Géron, Hands-On ML 2nd ed., ch. 15).

10000 seeded series of 51 steps; the first 50 are inputs, the 51st the target;
split 7000/2000/1000. Keras defaults throughout: Adam(1e-3, eps 1e-7), batch 32,
20 epochs, the last partial batch of each epoch kept.
"""
from configs import common


VARIANTS = ('', 'tiny')


def get_config(variant=''):
  """variant 'tiny': a few hundred short series and 20 steps, for tests."""
  common.check_variant(variant, VARIANTS)
  c = common.get_config()
  c.task.name = 'regression'
  c.data.name = 'timeseries'
  c.data.seed = 42  # np.random.seed of the book; fixed across training seeds.
  c.data.num_series = 10000
  c.data.num_steps = 50  # Input steps; the target is the next one.
  c.data.num_train = 7000
  c.data.num_valid = 2000  # The remaining series are the test split.

  c.model.output_size = 1  # Steps predicted ahead.

  c.train.batch_size = 32
  c.train.num_epochs = 20
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.eps = 1e-7  # Keras's default, not optax's 1e-8.
  c.log.every_steps = 100
  c.eval.batch_size = 500  # Sums over the split, so any size gives the same numbers.
  if variant == 'tiny':
    c.data.num_series, c.data.num_steps, c.data.num_train, c.data.num_valid = 120, 8, 64, 32
    c.train.batch_size = 10  # 64 = 6 full batches and one of 4: the partial-batch path runs.
    c.train.num_steps = 20
    c.eval.every_steps = 10
    c.checkpoint.every_steps = 5
    c.log.every_steps = 5
    c.eval.batch_size = 0
  return c
