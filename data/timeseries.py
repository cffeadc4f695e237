"""Synthetic time series of Géron's Hands-On ML (2nd ed., ch. 15).

Each series is the sum of two sines with random frequency and phase plus
uniform noise. Draw order follows the book (frequencies and offsets first,
then the noise), so a seed gives the book's data.
"""
import numpy as np


def generate_series(num_series: int, length: int, rng: np.random.RandomState) -> np.ndarray:
  """Returns float32 series of shape (num_series, length, 1)."""
  freq1, freq2, offset1, offset2 = rng.rand(4, num_series, 1)
  t = np.linspace(0, 1, length)
  series = 0.5 * np.sin((t - offset1) * (freq1 * 10 + 10))
  series = series + 0.2 * np.sin((t - offset2) * (freq2 * 20 + 20))
  series = series + 0.1 * (rng.rand(num_series, length) - 0.5)
  return series[..., np.newaxis].astype(np.float32)


def load_splits(data_config) -> dict:
  """The train/valid/test splits as {'inputs': (R, T, 1), 'targets': (R, 1)} dicts."""
  n_train, n_valid = data_config.num_train, data_config.num_valid
  if n_train + n_valid >= data_config.num_series:
    raise ValueError(
        f'data.num_train ({n_train}) + data.num_valid ({n_valid}) must be less '
        f'than data.num_series ({data_config.num_series}) to leave a test split.')
  # The legacy RandomState stream is what np.random.seed(42) drives in the book.
  rng = np.random.RandomState(data_config.seed)
  series = generate_series(data_config.num_series, data_config.num_steps + 1, rng)
  bounds = {'train': (0, n_train), 'valid': (n_train, n_train + n_valid),
            'test': (n_train + n_valid, data_config.num_series)}
  return {name: {'inputs': series[lo:hi, :-1], 'targets': series[lo:hi, -1]}
          for name, (lo, hi) in bounds.items()}
