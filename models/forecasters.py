"""Models that read a (B, T, D) window and predict the next `output_size` values.

Mixed precision (`dtype`, model.dtype; the table in models/precision.py): with bfloat16 the matmuls read
bfloat16 operands and accumulate in float32; recurrent states and the predictions stay float32 (a mean
squared error of values near 1 needs more than bfloat16's 3 significant digits).
"""
import flax.linen as nn
import jax.numpy as jnp

from configs import checks
from models import precision
from models import registry
from models import rnn


class NaiveForecaster(nn.Module):
  """Predicts the last observed value; has no parameters."""

  @nn.compact
  def __call__(self, x_BTD):
    return x_BTD[:, -1, :]


class DenseForecaster(nn.Module):
  """A linear map of the flattened window."""
  output_size: int
  dtype: jnp.dtype = jnp.float32  # Of the matmul's operands; the prediction is its float32 result.

  @nn.compact
  def __call__(self, x_BTD):
    dense = precision.dense(self.output_size, self.dtype, kernel_init=nn.initializers.glorot_uniform())
    return dense(x_BTD.reshape(x_BTD.shape[0], -1))


class RNNForecaster(nn.Module):
  """Stacked recurrent layers; the last layer's final state, optionally through a Dense head.

  every_step: the head reads every step's state instead, (B, T, H) -> (B, T, O) (the copying task's recall).
  """
  hidden_sizes: tuple[int, ...]
  output_size: int
  cell: str = 'elman'
  activation: str = 'tanh'
  forget_bias: float = 1.0
  head: str = 'dense'
  unroll: int = 1  # lax.scan unroll factor: speed only, same numbers.
  every_step: bool = False
  dtype: jnp.dtype = jnp.float32  # Of the matmuls' operands; states and predictions stay float32.

  @nn.compact
  def __call__(self, x_BTD):
    h_BTH = x_BTD
    for i, size in enumerate(self.hidden_sizes):
      layer = rnn.RecurrentLayer(size, self.cell, self.activation, self.forget_bias, self.unroll,
                                 dtype=self.dtype, name=f'rnn_{i}')
      h_BTH, _ = layer(h_BTH)
    h_BH = h_BTH if self.every_step else h_BTH[:, -1]
    if self.head == 'dense':
      head = precision.dense(self.output_size, self.dtype, kernel_init=nn.initializers.glorot_uniform(), name='head')
      return head(h_BH)
    return h_BH


@registry.register('naive')
def _naive(config):
  return registry.from_config(NaiveForecaster, config)


@registry.register('dense')
def _dense(config):
  return registry.from_config(DenseForecaster, config)


@registry.register('rnn')
def _rnn(config):
  model = registry.from_config(RNNForecaster, config)
  head = checks.check_choice(model.head, ('dense', 'none'), 'model.head')
  if head == 'none' and model.hidden_sizes[-1] != model.output_size:
    raise ValueError(f'model.head="none" needs the last of model.hidden_sizes {model.hidden_sizes} '
                     f'to equal model.output_size ({model.output_size}).')
  checks.check_choice(model.cell, sorted(rnn.CELLS), 'model.cell')
  checks.check_choice(model.activation, sorted(rnn.ACTIVATIONS), 'model.activation')
  rnn.check_sizes(model.cell, model.hidden_sizes, 'model.hidden_sizes')
  return model
