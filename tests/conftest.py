"""Tests run on CPU with 8 simulated devices, as sharded code will need."""
import os

os.environ.setdefault('XLA_FLAGS', '--xla_force_host_platform_device_count=8')
os.environ.setdefault('JAX_PLATFORMS', 'cpu')

import pytest  # noqa: E402
from absl import logging  # noqa: E402

logging.set_verbosity(logging.WARNING)  # orbax logs every checkpoint at INFO.


@pytest.fixture
def tiny_config():
  """Returns a loader of the 'tiny' variant of a time-series config, with overrides."""
  from training import config_loading

  def load(name='deep_rnn_dense', **overrides):
    config = config_loading.load_config(f'configs/timeseries/{name}.py:tiny')
    return config_loading.apply_overrides(config, dict({'log.progress_bar': False}, **overrides))
  return load
