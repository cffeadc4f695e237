"""Tests run on one CPU device; the sharding tests start their own processes with 8 simulated devices
(XLA fixes the device count when jax starts, see tests/test_sharding.py)."""
import os

os.environ.setdefault('JAX_PLATFORMS', 'cpu')
# Many tests compile the same tiny programs (a resumed run recompiles what the first run compiled):
# a persistent compilation cache, shared by the pytest-xdist workers and the child processes, skips those.
os.environ.setdefault('JAX_COMPILATION_CACHE_DIR', os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.pytest_cache', 'jax_compilation'))
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')
# The suite is mostly compiling tiny programs: skip LLVM's optimizations (about 30% faster; the HLO,
# and so what is computed, is the same).
if '--xla_backend_optimization_level' not in os.environ.get('XLA_FLAGS', ''):
  os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') + ' --xla_backend_optimization_level=0').strip()

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
