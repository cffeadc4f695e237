"""Recurrent layers: each cell is a pure step function, unrolled with jax.lax.scan.

The input projection x_t W + b of every step (all gates at once) is one matmul
hoisted out of the scan; inside it only the recurrent matmul remains. BPTT is
autodiff through the scan. Gates are laid out as PyTorch's (GRU: r, z, n;
LSTM: i, f, g, o) so weights and numbers compare directly.
"""
import dataclasses
import functools
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

ACTIVATIONS: dict[str, Callable] = {'tanh': jnp.tanh, 'relu': jax.nn.relu, 'linear': lambda x: x}


def elman_step(params, h_BH, xw_BH, activation: Callable):
  """h_t = act(x_t W + b + h_{t-1} U), with x_t W + b precomputed."""
  return activation(xw_BH + h_BH @ params['recurrent_kernel'])


def gru_step(params, h_BH, xw_B3H):
  """GRU with the reset gate applied after the recurrent matmul (cuDNN/PyTorch form)."""
  hu_B3H = h_BH @ params['recurrent_kernel']
  xr, xz, xn = jnp.split(xw_B3H, 3, axis=-1)
  hr, hz, hn = jnp.split(hu_B3H, 3, axis=-1)
  r = jax.nn.sigmoid(xr + hr)
  z = jax.nn.sigmoid(xz + hz)
  n = jnp.tanh(xn + r * (hn + params['recurrent_bias']))
  return (1.0 - z) * n + z * h_BH


def lstm_step(params, carry, xw_B4H):
  """LSTM; the carry is (h, c)."""
  h_BH, c_BH = carry
  i, f, g, o = jnp.split(xw_B4H + h_BH @ params['recurrent_kernel'], 4, axis=-1)
  c_BH = jax.nn.sigmoid(f) * c_BH + jax.nn.sigmoid(i) * jnp.tanh(g)
  return jax.nn.sigmoid(o) * jnp.tanh(c_BH), c_BH


def _lstm_forward(recurrent_HG, xw_TBG, h0_BH, c0_BH, unroll):
  """Scans the LSTM; returns h and c of every step and the activated gates (for the backward pass)."""
  def step(carry, xw_BG):
    h_BH, c_BH = carry
    i, f, g, o = jnp.split(xw_BG + h_BH @ recurrent_HG, 4, axis=-1)
    i, f, g, o = jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g), jax.nn.sigmoid(o)
    c_BH = f * c_BH + i * g
    h_BH = o * jnp.tanh(c_BH)
    return (h_BH, c_BH), (h_BH, c_BH, jnp.concatenate([i, f, g, o], axis=-1))
  _, (h_TBH, c_TBH, gates_TBG) = jax.lax.scan(step, (h0_BH, c0_BH), xw_TBG, unroll=unroll)
  return h_TBH, c_TBH, gates_TBG


@functools.partial(jax.custom_vjp, nondiff_argnums=(4,))
def lstm_scan(recurrent_HG, xw_TBG, h0_BH, c0_BH, unroll=1):
  """LSTM over time-major projected inputs; returns (h of every step (T, B, H), (h_T, c_T)).

  Same numbers as scanning `lstm_step`, with a hand-written backward pass: the
  reverse scan computes only the gate gradients, and the recurrent kernel's
  gradient is one (H, T·B) @ (T·B, 4H) matmul after it, instead of T rank-B
  updates accumulated inside the loop.
  """
  h_TBH, c_TBH, _ = _lstm_forward(recurrent_HG, xw_TBG, h0_BH, c0_BH, unroll)
  return h_TBH, (h_TBH[-1], c_TBH[-1])


def _lstm_scan_fwd(recurrent_HG, xw_TBG, h0_BH, c0_BH, unroll):
  h_TBH, c_TBH, gates_TBG = _lstm_forward(recurrent_HG, xw_TBG, h0_BH, c0_BH, unroll)
  return (h_TBH, (h_TBH[-1], c_TBH[-1])), (recurrent_HG, h0_BH, c0_BH, h_TBH, c_TBH, gates_TBG)


def _lstm_scan_bwd(unroll, residuals, cotangents):
  recurrent_HG, h0_BH, c0_BH, h_TBH, c_TBH, gates_TBG = residuals
  dh_TBH, (dh_last_BH, dc_last_BH) = cotangents
  c_prev_TBH = jnp.concatenate([c0_BH[None], c_TBH[:-1]], axis=0)

  recurrent_GH = recurrent_HG.T  # Transposed once, not in every step.

  def step(carry, inputs):
    dh_next_BH, dc_next_BH = carry  # What flows back into step t's outputs from step t+1.
    dh_out_BH, c_BH, c_prev_BH, gates_BG = inputs
    i, f, g, o = jnp.split(gates_BG, 4, axis=-1)
    dh_BH = dh_out_BH + dh_next_BH
    tanh_c = jnp.tanh(c_BH)
    dc_BH = dc_next_BH + dh_BH * o * (1.0 - tanh_c ** 2)
    dgates_BG = jnp.concatenate([dc_BH * g * i * (1.0 - i), dc_BH * c_prev_BH * f * (1.0 - f),
                                 dc_BH * i * (1.0 - g ** 2), dh_BH * tanh_c * o * (1.0 - o)], axis=-1)
    return (dgates_BG @ recurrent_GH, dc_BH * f), dgates_BG

  (dh0_BH, dc0_BH), dgates_TBG = jax.lax.scan(
      step, (dh_last_BH, dc_last_BH), (dh_TBH, c_TBH, c_prev_TBH, gates_TBG), reverse=True, unroll=unroll)
  h_prev_NH = jnp.concatenate([h0_BH[None], h_TBH[:-1]], axis=0).reshape(-1, h0_BH.shape[-1])  # N = T·B
  d_recurrent_HG = h_prev_NH.T @ dgates_TBG.reshape(h_prev_NH.shape[0], -1)  # One matmul, K = T·B.
  return d_recurrent_HG, dgates_TBG, dh0_BH, dc0_BH


lstm_scan.defvjp(_lstm_scan_fwd, _lstm_scan_bwd)


@dataclasses.dataclass(frozen=True)
class CellSpec:
  gates: int  # Blocks of width H in the kernels.
  has_cell_state: bool


CELLS = {
    'elman': CellSpec(gates=1, has_cell_state=False),
    'irnn': CellSpec(gates=1, has_cell_state=False),  # Elman with ReLU and an identity recurrent kernel.
    'gru': CellSpec(gates=3, has_cell_state=False),
    'lstm': CellSpec(gates=4, has_cell_state=True),
}


def scan_steps(step: Callable, carry, xw_TBG, unroll: int = 1, valid_TB=None, reverse: bool = False):
  """Runs `step(carry, xw_t) -> carry` over time; returns (h of every step (T, B, H), last carry).

  With `valid_TB`, a padded step leaves the carry unchanged and outputs zeros, so
  the last carry is each row's state after its last real step (or, with
  `reverse`, its first); a reversed scan starts each row at its last real step.
  """
  def body(carry, inputs):
    xw_BG, valid_B = inputs
    new = step(carry, xw_BG)
    if valid_B is not None:
      new = jax.tree.map(lambda n, c: jnp.where(valid_B[:, None], n, c), new, carry)
    h_BH = new[0] if isinstance(new, tuple) else new
    if valid_B is not None:
      h_BH = jnp.where(valid_B[:, None], h_BH, 0.0)
    return new, h_BH
  last, h_TBH = jax.lax.scan(body, carry, (xw_TBG, valid_TB), unroll=unroll, reverse=reverse)
  return h_TBH, last


def _lstm_bias_init(forget_bias: float):
  def init(key, shape, dtype=jnp.float32):
    del key
    hidden = shape[0] // 4
    return jnp.zeros(shape, dtype).at[hidden:2 * hidden].set(forget_bias)
  return init


def _identity_init(key, shape, dtype=jnp.float32):
  del key
  return jnp.eye(*shape, dtype=dtype)


def initializers(cell: str, forget_bias: float = 1.0):
  """(kernel, recurrent kernel, bias) initializers of a cell; see RecurrentLayer."""
  if cell == 'irnn':
    kernel_init, recurrent_init = nn.initializers.normal(1e-3), _identity_init
  else:
    kernel_init, recurrent_init = nn.initializers.glorot_uniform(), nn.initializers.orthogonal()
  bias_init = _lstm_bias_init(forget_bias) if cell == 'lstm' else nn.initializers.zeros_init()
  return kernel_init, recurrent_init, bias_init


def step_function(cell: str, params: dict, activation: str = 'tanh') -> Callable:
  """`(carry, xw_BG) -> carry` of one cell, with the input projection xw precomputed."""
  if cell == 'lstm':
    return lambda carry, xw: lstm_step(params, carry, xw)
  if cell == 'gru':
    return lambda h, xw: gru_step(params, h, xw)
  act = ACTIVATIONS['relu' if cell == 'irnn' else activation]
  return lambda h, xw: elman_step(params, h, xw, act)


class CellWeights(nn.Module):
  """The weights of one cell, returned as a dict for stepping it inside a plain lax.scan."""
  in_features: int
  features: int
  cell: str
  forget_bias: float = 1.0

  @nn.compact
  def __call__(self) -> dict:
    kernel_init, recurrent_init, bias_init = initializers(self.cell, self.forget_bias)
    width = CELLS[self.cell].gates * self.features
    weights = {'kernel': self.param('kernel', kernel_init, (self.in_features, width)),
               'recurrent_kernel': self.param('recurrent_kernel', recurrent_init, (self.features, width)),
               'bias': self.param('bias', bias_init, (width,))}
    if self.cell == 'gru':
      weights['recurrent_bias'] = self.param('recurrent_bias', nn.initializers.zeros_init(), (self.features,))
    return weights


class RecurrentLayer(nn.Module):
  """One recurrent layer over (B, T, D); returns (h of every step (B, T, H), last carry).

  With time_major, inputs and outputs are (T, B, ·): stacks of layers then pass
  their sequences on without transposing them.

  Elman defaults to Keras's initializers (glorot-uniform kernel, orthogonal
  recurrent kernel, zero bias); IRNN follows Le et al. (2015): ReLU, identity
  recurrent kernel, input weights N(0, 0.001²).
  """
  features: int
  cell: str = 'elman'
  activation: str = 'tanh'  # Elman only.
  forget_bias: float = 1.0  # LSTM only.
  unroll: int = 1
  time_major: bool = False

  def initial_carry(self, batch_size: int, dtype=jnp.float32):
    h = lambda: jnp.zeros((batch_size, self.features), dtype)  # Distinct buffers: a carry may be donated.
    return (h(), h()) if CELLS[self.cell].has_cell_state else h()

  @nn.compact
  def __call__(self, x, carry=None, valid=None, reverse: bool = False):
    """`valid` (B, T) or time-major (T, B) marks real steps of right-padded rows (see scan_steps)."""
    spec, hidden = CELLS[self.cell], self.features
    width = spec.gates * hidden
    kernel_init, recurrent_init, bias_init = initializers(self.cell, self.forget_bias)
    x_TBD = x if self.time_major else jnp.swapaxes(x, 0, 1)
    kernel_DG = self.param('kernel', kernel_init, (x_TBD.shape[-1], width))
    params = {'recurrent_kernel': self.param('recurrent_kernel', recurrent_init, (hidden, width))}
    bias_G = self.param('bias', bias_init, (width,))
    if self.cell == 'gru':
      params['recurrent_bias'] = self.param('recurrent_bias', nn.initializers.zeros_init(), (hidden,))
    xw_TBG = jnp.einsum('tbd,dg->tbg', x_TBD, kernel_DG) + bias_G
    if carry is None:
      carry = self.initial_carry(x_TBD.shape[1], xw_TBG.dtype)
    if self.cell == 'lstm' and valid is None and not reverse:
      h_TBH, last = lstm_scan(params['recurrent_kernel'], xw_TBG, *carry, self.unroll)
    else:
      valid_TB = None if valid is None else (valid if self.time_major else valid.T).astype(bool)
      h_TBH, last = scan_steps(self._step(params), carry, xw_TBG, self.unroll, valid_TB, reverse)
    return (h_TBH if self.time_major else jnp.swapaxes(h_TBH, 0, 1)), last

  def _step(self, params):
    return step_function(self.cell, params, self.activation)
