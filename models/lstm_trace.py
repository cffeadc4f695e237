"""The inside of a trained LSTM language model, step by step (Karpathy, Johnson & Fei-Fei 2015).

`trace` reruns an `rnn_lm` with `model.cell=lstm` (models/lm.py) from its parameters alone and returns what
the model's fused layer (rnn.lstm_layer) computes but does not keep: every layer's gates, cell state and
output at every step. Evaluation mode: no dropout, float32 throughout (a bfloat16-trained model's own
forward pass rounds its matmul operands, so its h differs from this trace by that rounding).

Shapes: B batch, T time, D layer input width, H hidden (cells of one layer), G = 4H (gates i, f, g, o, in
PyTorch's order, as models/rnn.py lays them out).
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

GATES = ('i', 'f', 'g', 'o')
SATURATION = (0.1, 0.9)  # A sigmoid gate below 0.1 is left-saturated, above 0.9 right-saturated (their Figure 3).


class LayerTrace(NamedTuple):
  """One layer's activations, each (B, T, H): the sigmoid gates i, f, o, the tanh candidate g, the cell state
  c_t = f c_{t-1} + i g and the output h_t = o tanh(c_t)."""
  i: jax.Array
  f: jax.Array
  g: jax.Array
  o: jax.Array
  c: jax.Array
  h: jax.Array


def lstm_layers(params) -> list:
  """The parameters of an LSTM LM's recurrent layers rnn_0, rnn_1, ... in order; a ValueError says why
  `params` are not those of an LSTM (another cell's kernels are not 4H wide)."""
  layers = []
  while f'rnn_{len(layers)}' in params:
    layer = params[f'rnn_{len(layers)}']
    H, G = np.shape(layer['recurrent_kernel'])
    if G != 4 * H or np.shape(layer['bias']) != (G,) or np.shape(layer['kernel'])[1] != G:
      raise ValueError(f'rnn_{len(layers)} is not an LSTM layer: its recurrent kernel is {H}x{G}, not Hx4H.')
    layers.append(layer)
  if not layers or 'embed' not in params:
    raise ValueError(f'not the parameters of an rnn_lm: it has {sorted(params)}, no embed and rnn_0.')
  return layers


def initial_carry(params, batch_size: int) -> tuple:
  """Zero (h, c) per layer, the model's own initial_carry."""
  return tuple((jnp.zeros((batch_size, layer['recurrent_kernel'].shape[0]), jnp.float32),) * 2
               for layer in lstm_layers(params))


def _layer(layer, x_TBD, carry):
  # The input projection of all steps is one matmul; only h_{t-1} U remains inside the scan.
  xw_TBG = jnp.einsum('tbd,dg->tbg', x_TBD, layer['kernel']) + layer['bias']

  def step(carry, xw_BG):
    h_BH, c_BH = carry
    zi, zf, zg, zo = jnp.split(xw_BG + h_BH @ layer['recurrent_kernel'], 4, axis=-1)
    i, f, g, o = jax.nn.sigmoid(zi), jax.nn.sigmoid(zf), jnp.tanh(zg), jax.nn.sigmoid(zo)
    c_BH = f * c_BH + i * g
    h_BH = o * jnp.tanh(c_BH)
    return (h_BH, c_BH), LayerTrace(i, f, g, o, c_BH, h_BH)

  last, trace_TBH = jax.lax.scan(step, carry, xw_TBG)
  return trace_TBH, last


@jax.jit
def trace(params, tokens_BT, carry) -> tuple:
  """(a LayerTrace per layer, each field (B, T, H); the last carry) of an LSTM LM reading tokens_BT from
  `carry` ((h, c) per layer, as model.initial_carry(B)): the carry returned continues the stream, so a long
  text can be traced window by window."""
  x_TBD = jnp.take(params['embed']['embedding'], tokens_BT.T, axis=0)
  traces, new_carry = [], []
  for layer, layer_carry in zip(lstm_layers(params), carry, strict=True):
    trace_TBH, last = _layer(layer, x_TBD, layer_carry)
    x_TBD = trace_TBH.h
    traces.append(jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), trace_TBH))
    new_carry.append(last)
  return tuple(traces), tuple(new_carry)


def saturation_counts(gate_NH, bounds=SATURATION) -> tuple:
  """(left_H, right_H): how many of the N rows have each cell's gate below bounds[0] and above bounds[1]."""
  gate_NH = np.asarray(gate_NH)
  return (gate_NH < bounds[0]).sum(0), (gate_NH > bounds[1]).sum(0)
