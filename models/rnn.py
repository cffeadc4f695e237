"""Recurrent layers: each cell is a pure step function, unrolled with jax.lax.scan.

The input projection x_t W + b of every step (all gates at once) is one matmul
hoisted out of the scan; inside it only the recurrent matmul remains. BPTT is
autodiff through the scan, except for the unmasked forward LSTM (`lstm_layer`,
what the LMs run), whose backward scan is written by hand. Gates are laid out
as PyTorch's (GRU: r, z, n; LSTM: i, f, g, o) so weights and numbers compare
directly.

Mixed precision (`dtype` bfloat16; models/precision.py): only the matmuls read bfloat16 operands (the
input projection, h_{t-1} U in every step, and in lstm_layer's backward dgates Uᵀ and the weight
gradients), and they accumulate and return float32. The gates, their nonlinearities and the carried
states h and c stay float32: c_t = f c_{t-1} + i g (and a GRU's h_t = (1 - z) n + z h_{t-1}) adds a
small term to the state at every step, and a bfloat16 state would round each term to a unit in its last
place (2^-8 of it: a term below half of that is lost), so over hundreds of steps it would drift from
float32's (tests/test_bf16.py measures it).
"""
import dataclasses
import functools
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from models import precision
from models import unitary

ACTIVATIONS: dict[str, Callable] = {'tanh': jnp.tanh, 'relu': jax.nn.relu, 'linear': lambda x: x}


def elman_step(params, h_BH, xw_BH, activation: Callable, dtype=jnp.float32):
  """h_t = act(x_t W + b + h_{t-1} U), with x_t W + b precomputed; h_{t-1} U with `dtype` operands."""
  return activation(xw_BH + precision.matmul(h_BH, params['recurrent_kernel'], dtype))


def gru_step(params, h_BH, xw_B3H, dtype=jnp.float32):
  """GRU with the reset gate applied after the recurrent matmul (cuDNN/PyTorch form)."""
  hu_B3H = precision.matmul(h_BH, params['recurrent_kernel'], dtype)
  xr, xz, xn = jnp.split(xw_B3H, 3, axis=-1)
  hr, hz, hn = jnp.split(hu_B3H, 3, axis=-1)
  r = jax.nn.sigmoid(xr + hr)
  z = jax.nn.sigmoid(xz + hz)
  n = jnp.tanh(xn + r * (hn + params['recurrent_bias']))
  return (1.0 - z) * n + z * h_BH


def lstm_step(params, carry, xw_B4H, dtype=jnp.float32):
  """LSTM; the carry is (h, c), float32 whatever `dtype` the recurrent matmul's operands have."""
  h_BH, c_BH = carry
  i, f, g, o = jnp.split(xw_B4H + precision.matmul(h_BH, params['recurrent_kernel'], dtype), 4, axis=-1)
  c_BH = jax.nn.sigmoid(f) * c_BH + jax.nn.sigmoid(i) * jnp.tanh(g)
  return jax.nn.sigmoid(o) * jnp.tanh(c_BH), c_BH


# sigmoid(z) = tanh(z / 2) / 2 + 1/2, so the four gates (i, f, g, o) of a step are one tanh over
# (B, 4, H), scaled per block: one elementwise pass instead of a split, three sigmoids and a concat.
_GATE_SCALE = (0.5, 0.5, 1.0, 0.5)
_GATE_SHIFT = (0.5, 0.5, 0.0, 0.5)


def _activate_gates(z_B4H):
  scale = jnp.asarray(_GATE_SCALE, z_B4H.dtype)[:, None]
  shift = jnp.asarray(_GATE_SHIFT, z_B4H.dtype)[:, None]
  return scale * jnp.tanh(scale * z_B4H) + shift


def _cast(x, dtype):
  """x in the matmul dtype, cast once outside a loop (float32: x itself)."""
  return x if precision.is_float32(dtype) else x.astype(dtype)


def _lstm_forward(kernel_DG, bias_G, recurrent_HG, x_TBD, h0_BH, c0_BH, unroll, dtype):
  """Scans the LSTM; returns h of every step, the cell state each step starts from, the activated
  gates (B, 4, H) of every step (what the backward pass needs) and the last carry."""
  T, B, _ = x_TBD.shape
  H = h0_BH.shape[-1]
  # The input projection of all steps is one matmul; the bias is added inside the step, where the
  # sum is formed anyway, instead of in a separate pass over (T, B, 4H).
  xw_TB4H = precision.einsum('tbd,dg->tbg', x_TBD, kernel_DG, dtype).reshape(T, B, 4, H)
  bias_4H = bias_G.reshape(4, H)
  recurrent_HG = _cast(recurrent_HG, dtype)

  # The loop writes each step's gates over its own projected inputs, which nothing reads again: the
  # gates need no buffer of their own, and XLA does not fill one with zeros first, as it does for the
  # stacked outputs of a scan (a pass over (T, B, 4H) that costs as much as the projection). Step t
  # reads the inputs of step t + 1 into the carry: a read and a write of one place in one step would
  # make XLA copy the whole buffer to keep them apart.
  def step(carry, t):
    h_BH, c_BH, xw_B4H, buffer_TB4H = carry
    gates_B4H = _activate_gates(xw_B4H + bias_4H + precision.matmul(h_BH, recurrent_HG, dtype).reshape(B, 4, H))
    i, f, g, o = (gates_B4H[:, k] for k in range(4))
    c_next_BH = f * c_BH + i * g
    h_next_BH = o * jnp.tanh(c_next_BH)
    buffer_TB4H = jax.lax.dynamic_update_index_in_dim(buffer_TB4H, gates_B4H, t, 0)
    xw_next_B4H = jax.lax.dynamic_index_in_dim(buffer_TB4H, jnp.minimum(t + 1, T - 1), keepdims=False)
    return (h_next_BH, c_next_BH, xw_next_B4H, buffer_TB4H), (h_next_BH, c_BH)

  (h_last, c_last, _, gates_TB4H), (h_TBH, c_prev_TBH) = jax.lax.scan(
      step, (h0_BH, c0_BH, xw_TB4H[0], xw_TB4H), jnp.arange(T), unroll=unroll)
  last = (h_last, c_last)
  return h_TBH, c_prev_TBH, gates_TB4H, last


@functools.partial(jax.custom_vjp, nondiff_argnums=(6, 7))
def lstm_layer(kernel_DG, bias_G, recurrent_HG, x_TBD, h0_BH, c0_BH, unroll=1, dtype=jnp.float32):
  """One LSTM layer over time-major inputs; returns (h of every step (T, B, H), (h_T, c_T)).

  Same numbers as projecting the inputs and scanning `lstm_step`, with a hand-written backward pass:
  the reverse scan computes only the gate gradients, and every weight gradient is one matmul over
  all T·B rows after it, instead of T rank-B updates accumulated inside the loop. `dtype`: the operands
  of every matmul, forward and backward (they accumulate in float32; gates, h and c stay float32).
  """
  h_TBH, _, _, last = _lstm_forward(kernel_DG, bias_G, recurrent_HG, x_TBD, h0_BH, c0_BH, unroll, dtype)
  return h_TBH, last


def _lstm_layer_fwd(kernel_DG, bias_G, recurrent_HG, x_TBD, h0_BH, c0_BH, unroll, dtype):
  h_TBH, c_prev_TBH, gates_TB4H, last = _lstm_forward(kernel_DG, bias_G, recurrent_HG, x_TBD, h0_BH, c0_BH,
                                                       unroll, dtype)
  residuals = (kernel_DG, recurrent_HG, x_TBD, h0_BH, h_TBH, c_prev_TBH, gates_TB4H, last[1])
  return (h_TBH, last), residuals


def _lstm_layer_bwd(unroll, dtype, residuals, cotangents):
  kernel_DG, recurrent_HG, x_TBD, h0_BH, h_TBH, c_prev_TBH, gates_TB4H, c_last_BH = residuals
  dh_TBH, (dh_last_BH, dc_last_BH) = cotangents
  T, B, D = x_TBD.shape
  H = h0_BH.shape[-1]
  recurrent_GH = _cast(recurrent_HG.T, dtype)  # Transposed (and cast) once, not in every step.

  def step(carry, inputs):
    # Carried from step t + 1: its gate gradients and its dL/dc_t; the gradient that reaches h_t from
    # outside the scan (h_T's, first step only); this step's cell state and gates; and the gates
    # buffer, whose step t is overwritten with its gradient (and step t - 1 read ahead, as in the
    # forward pass). The gate gradients go on in the carry rather than through a matmul at the end of
    # the step: XLA would compute them twice, for the buffer and for the matmul.
    dgates_next_B4H, dc_next_BH, dh_extra_BH, c_BH, gates_B4H, buffer_TB4H = carry
    t, dh_out_BH, c_prev_BH = inputs
    i, f, g, o = (gates_B4H[:, k] for k in range(4))
    dh_BH = dh_out_BH + dh_extra_BH + precision.matmul(dgates_next_B4H.reshape(B, 4 * H), recurrent_GH, dtype)
    tanh_c = jnp.tanh(c_BH)
    dc_BH = dc_next_BH + dh_BH * o * (1.0 - tanh_c ** 2)
    dgates_B4H = jnp.stack([dc_BH * g * i * (1.0 - i), dc_BH * c_prev_BH * f * (1.0 - f),
                            dc_BH * i * (1.0 - g ** 2), dh_BH * tanh_c * o * (1.0 - o)], axis=1)
    buffer_TB4H = jax.lax.dynamic_update_index_in_dim(buffer_TB4H, dgates_B4H, t, 0)
    gates_prev_B4H = jax.lax.dynamic_index_in_dim(buffer_TB4H, jnp.maximum(t - 1, 0), keepdims=False)
    return (dgates_B4H, dc_BH * f, jnp.zeros_like(dh_extra_BH), c_prev_BH, gates_prev_B4H, buffer_TB4H), None

  init = (jnp.zeros_like(gates_TB4H[-1]), dc_last_BH, dh_last_BH, c_last_BH, gates_TB4H[-1], gates_TB4H)
  (dgates0_B4H, dc0_BH, _, _, _, dgates_TB4H), _ = jax.lax.scan(
      step, init, (jnp.arange(T), dh_TBH, c_prev_TBH), reverse=True, unroll=unroll)
  dh0_BH = precision.matmul(dgates0_B4H.reshape(B, 4 * H), recurrent_GH, dtype)
  R = T * B  # Every step's rows at once.
  dgates_RG = dgates_TB4H.reshape(R, 4 * H)
  h_prev_RH = jnp.concatenate([h0_BH[None], h_TBH[:-1]], axis=0).reshape(R, H)
  # One matmul each, over all T·B rows (float32 accumulation whatever the operands).
  d_recurrent_HG = precision.matmul(h_prev_RH.T, dgates_RG, dtype)
  d_kernel_DG = precision.matmul(x_TBD.reshape(R, D).T, dgates_RG, dtype)
  dx_TBD = precision.matmul(dgates_RG, kernel_DG.T, dtype).reshape(T, B, D).astype(x_TBD.dtype)
  return d_kernel_DG, dgates_RG.sum(0), d_recurrent_HG, dx_TBD, dh0_BH, dc0_BH


lstm_layer.defvjp(_lstm_layer_fwd, _lstm_layer_bwd)


@dataclasses.dataclass(frozen=True)
class CellSpec:
  gates: int  # Blocks of width H in the kernels.
  has_cell_state: bool


CELLS = {
    'elman': CellSpec(gates=1, has_cell_state=False),
    'irnn': CellSpec(gates=1, has_cell_state=False),  # Elman with ReLU and an identity recurrent kernel.
    'gru': CellSpec(gates=3, has_cell_state=False),
    'lstm': CellSpec(gates=4, has_cell_state=True),
    # Norm-preserving recurrences with modReLU (models/unitary.py). urnn's width is 2N reals for N complex units.
    'urnn': CellSpec(gates=1, has_cell_state=False),
    'exprnn': CellSpec(gates=1, has_cell_state=False),
}
NORM_PRESERVING = ('urnn', 'exprnn')


def check_sizes(cell: str, sizes, field: str) -> None:
  """A uRNN's width holds the real and imaginary parts of its complex units, so it must be even."""
  if cell == 'urnn' and any(size % 2 for size in sizes):
    raise ValueError(f'{field}={tuple(sizes)}: model.cell=urnn needs even widths (2 reals per complex unit).')


def scan_steps(step: Callable, carry, xw_TBG, unroll: int = 1, valid_TB=None, reverse: bool = False,
               perturb_TBH=None):
  """Runs `step(carry, xw_t) -> carry` over time; returns (h of every step (T, B, H), last carry).

  With `valid_TB`, a padded step leaves the carry unchanged and outputs zeros, so
  the last carry is each row's state after its last real step (or, with
  `reverse`, its first); a reversed scan starts each row at its last real step.
  `perturb_TBH` is added to each step's new h before it is output and carried: the gradient with respect to
  it is ∂L/∂h_t through every later step (bench/gradient_flow.py).
  """
  def body(carry, inputs):
    xw_BG, valid_B, perturb_BH = inputs
    new = step(carry, xw_BG)
    if perturb_BH is not None:
      new = (new[0] + perturb_BH,) + new[1:] if isinstance(new, tuple) else new + perturb_BH
    if valid_B is not None:
      new = jax.tree.map(lambda n, c: jnp.where(valid_B[:, None], n, c), new, carry)
    h_BH = new[0] if isinstance(new, tuple) else new
    if valid_B is not None:
      h_BH = jnp.where(valid_B[:, None], h_BH, 0.0)
    return new, h_BH
  last, h_TBH = jax.lax.scan(body, carry, (xw_TBG, valid_TB, perturb_TBH), unroll=unroll, reverse=reverse)
  return h_TBH, last


def norm_stabilizer_term(h0_BH, h_TBH, valid_TB=None, reverse: bool = False):
  """mean over real steps of (‖h_t‖ - ‖h_{t-1}‖)², h_{t-1} of the first step being the initial state h0
  (Krueger & Memisevic 2016). `valid_TB`/`reverse` as scan_steps: a reversed row steps from its last real
  step back to its first, so its step t follows step t + 1, or h0 at the row's last real step."""
  norm_TB = jnp.linalg.norm(h_TBH, axis=-1)
  norm0_1B = jnp.linalg.norm(h0_BH, axis=-1)[None]
  valid_TB = jnp.ones(norm_TB.shape, bool) if valid_TB is None else valid_TB
  if reverse:
    later_valid_TB = jnp.concatenate([valid_TB[1:], jnp.zeros_like(valid_TB[:1])])
    previous_TB = jnp.where(later_valid_TB, jnp.concatenate([norm_TB[1:], norm0_1B]), norm0_1B)
  else:  # Right padding: a real step's predecessor is real too, or h0.
    previous_TB = jnp.concatenate([norm0_1B, norm_TB[:-1]])
  weight_TB = valid_TB.astype(norm_TB.dtype)
  return ((norm_TB - previous_TB) ** 2 * weight_TB).sum() / jnp.maximum(weight_TB.sum(), 1.0)


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


def step_function(cell: str, params: dict, activation: str = 'tanh', dtype=jnp.float32) -> Callable:
  """`(carry, xw_BG) -> carry` of one cell, with the input projection xw precomputed; the recurrent matmul
  reads `dtype` operands (the recurrent kernel cast once, here) and the carry stays float32."""
  params = dict(params, recurrent_kernel=_cast(params['recurrent_kernel'], dtype))
  if cell == 'lstm':
    return lambda carry, xw: lstm_step(params, carry, xw, dtype)
  if cell == 'gru':
    return lambda h, xw: gru_step(params, h, xw, dtype)
  if cell in NORM_PRESERVING:
    modrelu = unitary.complex_modrelu if cell == 'urnn' else unitary.modrelu
    act = functools.partial(modrelu, bias_H=params['modrelu_bias'])
  else:
    act = ACTIVATIONS['relu' if cell == 'irnn' else activation]
  return lambda h, xw: elman_step(params, h, xw, act, dtype)


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
  recurrent kernel, input weights N(0, 0.001²). urnn and exprnn step
  h_t = modReLU(x_t V + h_{t-1} M) with M unitary (orthogonal) for any parameter values, built from its
  parameters once per call (see _norm_preserving_params), and no bias before the modReLU, as in their papers.
  """
  features: int
  cell: str = 'elman'
  activation: str = 'tanh'  # Elman only.
  forget_bias: float = 1.0  # LSTM only.
  unroll: int = 1
  time_major: bool = False
  dtype: jnp.dtype = jnp.float32  # Of the matmuls' operands; parameters and states stay float32.

  def initial_carry(self, batch_size: int, dtype=jnp.float32):
    h = lambda: jnp.zeros((batch_size, self.features), dtype)  # Distinct buffers: a carry may be donated.
    return (h(), h()) if CELLS[self.cell].has_cell_state else h()

  @nn.compact
  def __call__(self, x, carry=None, valid=None, reverse: bool = False, need_carry: bool = True):
    """`valid` (B, T) or time-major (T, B) marks real steps of right-padded rows (see scan_steps).

    need_carry=False (an LSTM started from zeros, with `valid`): the outputs alone, and None for the carry,
    from lstm_layer's hand-written backward instead of autodiff through a masked scan. Steps after a row's
    end cannot change its earlier outputs, so the forward direction reads the padded rows as they are; the
    reverse direction reads each row's real steps reversed in place. Padding outputs are zeros either way.
    """
    spec, hidden = CELLS[self.cell], self.features
    width = spec.gates * hidden
    kernel_init, recurrent_init, bias_init = initializers(self.cell, self.forget_bias)
    x_TBD = x if self.time_major else jnp.swapaxes(x, 0, 1)
    kernel_DG = self.param('kernel', kernel_init, (x_TBD.shape[-1], width))
    if self.cell in NORM_PRESERVING:
      params, bias_G = self._norm_preserving_params(), 0.0
    else:
      params = {'recurrent_kernel': self.param('recurrent_kernel', recurrent_init, (hidden, width))}
      bias_G = self.param('bias', bias_init, (width,))
    if self.cell == 'gru':
      params['recurrent_bias'] = self.param('recurrent_bias', nn.initializers.zeros_init(), (hidden,))
    if carry is None:
      carry = self.initial_carry(x_TBD.shape[1], jnp.result_type(x_TBD, kernel_DG))
    h0_BH = carry[0] if isinstance(carry, tuple) else carry
    valid_TB = None if valid is None else (valid if self.time_major else valid.T).astype(bool)
    # Variables {'perturbations': {layer: {'hidden': zeros (T, B, H)}}} ask for ∂L/∂h_t, which only the generic
    # scan (scan_steps) adds, so they bypass lstm_layer.
    perturb_TBH = (self.get_variable('perturbations', 'hidden')
                   if self.has_variable('perturbations', 'hidden') else None)
    lstm_fast = self.cell == 'lstm' and perturb_TBH is None
    if lstm_fast and valid is None and not reverse:
      h_TBH, last = lstm_layer(kernel_DG, bias_G, params['recurrent_kernel'], x_TBD, *carry, self.unroll,
                               self.dtype)
    elif lstm_fast and not need_carry:
      order_TB1 = None
      if reverse:  # Step t of a row of length n reads step n - 1 - t; padding stays where it is.
        t_T1, length_B = jnp.arange(x_TBD.shape[0])[:, None], valid_TB.sum(0)
        order_TB1 = jnp.where(valid_TB, length_B - 1 - t_T1, t_T1)[..., None]
        x_TBD = jnp.take_along_axis(x_TBD, order_TB1, axis=0)
      h_TBH, _ = lstm_layer(kernel_DG, bias_G, params['recurrent_kernel'], x_TBD, *carry, self.unroll, self.dtype)
      if reverse:
        h_TBH = jnp.take_along_axis(h_TBH, order_TB1, axis=0)  # The reversal is its own inverse.
      h_TBH, last = jnp.where(valid_TB[..., None], h_TBH, 0.0), None
    else:
      xw_TBG = precision.einsum('tbd,dg->tbg', x_TBD, kernel_DG, self.dtype) + bias_G
      h_TBH, last = scan_steps(self._step(params), carry, xw_TBG, self.unroll, valid_TB, reverse, perturb_TBH)
    if self.is_mutable_collection('losses'):  # Only a loss with task.norm_stabilizer > 0 asks for it.
      self.sow('losses', 'norm_stabilizer', norm_stabilizer_term(h0_BH, h_TBH, valid_TB, reverse))
    return (h_TBH if self.time_major else jnp.swapaxes(h_TBH, 0, 1)), last

  def _step(self, params):
    return step_function(self.cell, params, self.activation, self.dtype)

  def _norm_preserving_params(self) -> dict:
    """The recurrence matrix of urnn / exprnn, materialized from its parameters once per call: then each
    step is one (B, H) @ (H, H) matmul, which on CPU and GPU costs less than the uRNN's eight small
    structured ops (two FFTs, two reflections, a permutation, three diagonals) run one after another at
    every step; the matrix is the same product, so the recurrence is as exactly unitary either way."""
    hidden = self.features
    zeros = nn.initializers.zeros_init()
    if self.cell == 'urnn':
      units = hidden // 2
      structure = {'phases': self.param('phases', lambda k, s: unitary.urnn_init(k, units)['phases'], (3, units)),
                   'reflections': self.param('reflections', lambda k, s: unitary.urnn_init(k, units)['reflections'],
                                             (2, 2, units))}
      recurrent_HH = unitary.complex_as_real(unitary.urnn_matrix(structure))
      return {'recurrent_kernel': recurrent_HH, 'modrelu_bias': self.param('modrelu_bias', zeros, (units,))}
    skew_P = self.param('skew', unitary.henaff_init(hidden), (unitary.skew_size(hidden),))
    return {'recurrent_kernel': unitary.exprnn_matrix(skew_P, hidden),
            'modrelu_bias': self.param('modrelu_bias', zeros, (hidden,))}


def bidirectional_stack(forward_layers, backward_layers, x_TBD, valid_TB, drop: Callable):
  """Stacked bidirectional layers (time-major RecurrentLayers) over right-padded rows: each layer's forward and
  backward outputs (the backward started at each row's last real step) concatenated, forward half first, and
  `drop` between layers. Returns the top layer's (T, B, 2H), zeros at padding."""
  for i, (forward, backward) in enumerate(zip(forward_layers, backward_layers, strict=True)):
    h_TBH, _ = forward(x_TBD, valid=valid_TB, need_carry=False)
    h_bwd_TBH, _ = backward(x_TBD, valid=valid_TB, reverse=True, need_carry=False)
    h_TBH = jnp.concatenate([h_TBH, h_bwd_TBH], axis=-1)
    x_TBD = drop(h_TBH) if i < len(forward_layers) - 1 else h_TBH
  return x_TBD
