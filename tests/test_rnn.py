"""The lax.scan recurrence against a Python loop and finite differences."""
import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

from models import rnn
from tests import tolerances


def _python_loop(params, x_BTD, activation=np.tanh):
  """Naive reference: h_t = act(x_t W + h_{t-1} U + b), one step at a time in numpy."""
  W, U, b = (np.asarray(params[k], np.float64) for k in ('kernel', 'recurrent_kernel', 'bias'))
  x = np.asarray(x_BTD, np.float64)
  h = np.zeros((x.shape[0], U.shape[0]))
  states = []
  for t in range(x.shape[1]):
    h = activation(x[:, t] @ W + h @ U + b)
    states.append(h)
  return np.stack(states, 1)


def _layer_and_params(features=5, in_dim=3, unroll=1, seed=0):
  layer = rnn.RecurrentLayer(features, unroll=unroll)
  x = jax.random.normal(jax.random.PRNGKey(seed), (4, 7, in_dim))
  params = layer.init(jax.random.PRNGKey(seed + 1), x)['params']
  params = dict(params, bias=jax.random.normal(jax.random.PRNGKey(seed + 2), (features,)) * 0.1)
  return layer, params, x


def _elman_terms(T, D, H):
  """Rounded operations behind h_T: T steps of a (D + H)-term pre-activation (tanh and relu do not amplify)."""
  return T * (D + H)


def test_scan_equals_python_loop_values():
  layer, params, x = _layer_and_params()
  states, last = layer.apply({'params': params}, x)
  expected = _python_loop(params, x)
  tolerances.assert_close(states, expected, _elman_terms(7, 3, 5), scale=1.0)  # |h| <= 1 under tanh.
  tolerances.assert_close(last, expected[:, -1], _elman_terms(7, 3, 5), scale=1.0)


def test_scan_equals_python_loop_gradients():
  layer, params, x = _layer_and_params()
  target = jax.random.normal(jax.random.PRNGKey(9), (4, 7, 5))

  def scan_loss(p):
    return jnp.sum((layer.apply({'params': p}, x)[0] - target) ** 2)

  def loop_loss(p, x, target):  # The same recurrence as an unrolled Python loop, differentiated by JAX.
    h = jnp.zeros((4, 5), x.dtype)
    total = 0.0
    for t in range(7):
      h = jnp.tanh(x[:, t] @ p['kernel'] + h @ p['recurrent_kernel'] + p['bias'])
      total = total + jnp.sum((h - target[:, t]) ** 2)
    return total

  grads_scan = jax.grad(scan_loss)(params)
  with jax.enable_x64(True):  # The reference in float64: only the scan's side rounds in float32.
    to64 = lambda a: jnp.asarray(np.asarray(a), jnp.float64)
    grads_loop = jax.device_get(jax.grad(loop_loss)(jax.tree.map(to64, params), to64(x), to64(target)))
  # A weight's gradient sums B·T contributions, each backpropagated through up to T steps of D + H terms.
  terms = 4 * 7 * _elman_terms(7, 3, 5)
  for name in params:
    tolerances.assert_close(grads_scan[name], grads_loop[name], terms, err_msg=name)
    assert np.abs(grads_scan[name]).max() > 0


def test_scan_gradients_match_finite_differences_float64():
  with jax.enable_x64(True):
    layer = rnn.RecurrentLayer(4)
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 6, 2), jnp.float64)
    params = jax.tree.map(lambda p: p.astype(jnp.float64), layer.init(jax.random.PRNGKey(1), x)['params'])
    loss = lambda p, x: jnp.sum(jnp.sin(layer.apply({'params': p}, x)[0]))
    # float64 central differences with step 1e-6 err by about 1e-12 (truncation) + 1e-16 / 1e-6 (rounding).
    check_grads(loss, (params, x), order=2, modes=['rev'], eps=1e-6, atol=1e-7, rtol=1e-7)


def test_unroll_changes_nothing_numerically():
  _, params, x = _layer_and_params()
  base = rnn.RecurrentLayer(5, unroll=1).apply({'params': params}, x)[0]
  unrolled = rnn.RecurrentLayer(5, unroll=4).apply({'params': params}, x)[0]
  # The same operations, but XLA may fuse (and so round) an unrolled body differently.
  tolerances.assert_close(unrolled, base, _elman_terms(7, 3, 5), scale=1.0)


def test_initializers_follow_keras():
  layer = rnn.RecurrentLayer(20)
  params = layer.init(jax.random.PRNGKey(0), jnp.zeros((1, 3, 30)))['params']
  U = np.asarray(params['recurrent_kernel'])
  # Orthogonal, up to float32 QR's rounding: 20 reflections of 20-term dot products.
  tolerances.assert_close(U.T @ U, np.eye(20), 20 * 20)
  limit = np.sqrt(6 / (30 + 20))  # Glorot uniform.
  assert np.abs(params['kernel']).max() <= limit
  assert np.abs(params['kernel']).max() > 0.8 * limit
  assert not np.any(params['bias'])


def test_relu_activation_and_initial_state():
  layer = rnn.RecurrentLayer(3, activation='relu')
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 2))
  params = layer.init(jax.random.PRNGKey(1), x)['params']
  h0 = jnp.ones((2, 3))
  states, _ = layer.apply({'params': params}, x, h0)
  W, U, b = (np.asarray(params[k], np.float64) for k in ('kernel', 'recurrent_kernel', 'bias'))
  first = np.maximum(np.asarray(x[:, 0], np.float64) @ W + np.asarray(h0, np.float64) @ U + b, 0)
  tolerances.assert_close(states[:, 0], first, _elman_terms(1, 2, 3))


def _sigmoid(x):
  return 1 / (1 + np.exp(-x))


def _numpy_gru(params, x):
  W, U, b, bh = (np.asarray(params[k], np.float64) for k in ('kernel', 'recurrent_kernel', 'bias', 'recurrent_bias'))
  H = U.shape[0]
  h = np.zeros((x.shape[0], H))
  out = []
  for t in range(x.shape[1]):
    xw, hu = x[:, t] @ W + b, h @ U
    r = _sigmoid(xw[:, :H] + hu[:, :H])
    z = _sigmoid(xw[:, H:2 * H] + hu[:, H:2 * H])
    n = np.tanh(xw[:, 2 * H:] + r * (hu[:, 2 * H:] + bh))
    h = (1 - z) * n + z * h
    out.append(h)
  return np.stack(out, 1), h


def _numpy_lstm(params, x):
  W, U, b = (np.asarray(params[k], np.float64) for k in ('kernel', 'recurrent_kernel', 'bias'))
  H = U.shape[0]
  h, c = np.zeros((x.shape[0], H)), np.zeros((x.shape[0], H))
  out = []
  for t in range(x.shape[1]):
    gates = x[:, t] @ W + h @ U + b
    i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    h = _sigmoid(o) * np.tanh(c)
    out.append(h)
  return np.stack(out, 1), (h, c)


def _randomized(layer, x, seed=3):
  """Initialized params with every leaf perturbed, so zero biases cannot hide a bug."""
  params = layer.init(jax.random.PRNGKey(seed), x)['params']
  keys = jax.random.split(jax.random.PRNGKey(seed + 1), len(params))
  return {k: v + 0.1 * jax.random.normal(key, v.shape) for (k, v), key in zip(sorted(params.items()), keys)}


def test_gru_equals_a_numpy_loop():
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 6, 4))
  layer = rnn.RecurrentLayer(5, cell='gru')
  params = _randomized(layer, x)
  states, last = layer.apply({'params': params}, x)
  expected, expected_last = _numpy_gru(params, np.asarray(x, np.float64))
  terms = 6 * (4 + 3 * 5)  # T steps of the D-term input and H-term recurrent projections of 3 gates.
  tolerances.assert_close(states, expected, terms, scale=1.0)  # |h| <= 1: a convex mix of tanh values.
  tolerances.assert_close(last, expected_last, terms, scale=1.0)


def test_lstm_equals_a_numpy_loop_and_carries_h_and_c():
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 6, 4))
  layer = rnn.RecurrentLayer(5, cell='lstm')
  params = _randomized(layer, x)
  states, (h, c) = layer.apply({'params': params}, x)
  expected, (eh, ec) = _numpy_lstm(params, np.asarray(x, np.float64))
  terms = 6 * (4 + 4 * 5)  # T steps of the D-term input and H-term recurrent projections of 4 gates.
  tolerances.assert_close(states, expected, terms, scale=1.0)  # |h| <= 1.
  tolerances.assert_close(h, eh, terms, scale=1.0)
  tolerances.assert_close(c, ec, terms, scale=max(1.0, np.abs(ec).max()))  # c adds up to T terms of size <= 1.


def test_lstm_forget_bias_and_irnn_identity_init():
  x = jnp.zeros((1, 2, 3))
  bias = rnn.RecurrentLayer(4, cell='lstm', forget_bias=2.5).init(jax.random.PRNGKey(0), x)['params']['bias']
  np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.full(4, 2.5), np.zeros(8)])
  irnn = rnn.RecurrentLayer(4, cell='irnn').init(jax.random.PRNGKey(0), x)['params']
  np.testing.assert_array_equal(irnn['recurrent_kernel'], np.eye(4))
  assert 0 < np.std(irnn['kernel']) < 0.01


def test_irnn_is_relu_elman():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 3))
  layer = rnn.RecurrentLayer(4, cell='irnn')
  params = _randomized(layer, x)
  expected = _python_loop(params, x, activation=lambda a: np.maximum(a, 0))
  tolerances.assert_close(layer.apply({'params': params}, x)[0], expected, _elman_terms(5, 3, 4))


def test_carried_state_splits_a_sequence_exactly():
  """Two windows with the carry passed on equal one long run: what truncated BPTT relies on."""
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 3))
  for cell in rnn.CELLS:
    layer = rnn.RecurrentLayer(4, cell=cell)
    params = {'params': _randomized(layer, x)}
    full, _ = layer.apply(params, x)
    first, carry = layer.apply(params, x[:, :5])
    second, _ = layer.apply(params, x[:, 5:], carry)
    # The same steps; only the compiled programs (lengths 5 and 3 against 8) may round differently.
    tolerances.assert_close(np.concatenate([first, second], 1), full, 8 * (3 + 4 * 4), err_msg=cell)


def test_gated_cells_gradients_match_finite_differences_float64():
  with jax.enable_x64(True):
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 3), jnp.float64)
    for cell in ('gru', 'lstm'):
      layer = rnn.RecurrentLayer(3, cell=cell)
      params = jax.tree.map(lambda p: p.astype(jnp.float64), _randomized(layer, x))
      loss = lambda p, x: jnp.sum(jnp.sin(layer.apply({'params': p}, x)[0]))
      check_grads(loss, (params, x), order=1, modes=['rev'], eps=1e-6, atol=1e-7, rtol=1e-7)


def test_lstm_custom_backward_equals_autodiff_of_the_step_function():
  """lstm_layer's hand-written VJP against JAX's autodiff of projecting the inputs and scanning lstm_step:
  in float64, where the two must agree to float64 rounding, and in float32 (what the LMs run) against the
  float64 autodiff reference."""
  T, B, D, H = 6, 3, 5, 4
  rng = np.random.RandomState(0)
  x, W, b = rng.randn(T, B, D), rng.randn(D, 4 * H) * 0.5, rng.randn(4 * H)
  U, h0, c0 = rng.randn(H, 4 * H) * 0.5, rng.randn(B, H), rng.randn(B, H)
  weights = rng.randn(T, B, H)

  def loss_terms(hs, h, c):  # Every term of the loss, so that its scale is known.
    return jnp.concatenate([(hs * weights).ravel(), jnp.sin(h).ravel(), (c ** 2).ravel()])

  def reference(W, b, U, x, h0, c0):
    def body(carry, xw):
      carry = rnn.lstm_step({'recurrent_kernel': U}, carry, xw)
      return carry, carry[0]
    (h, c), hs = jax.lax.scan(body, (h0, c0), x @ W + b)
    terms = loss_terms(hs, h, c)
    return jnp.sum(terms), terms

  def custom(W, b, U, x, h0, c0, unroll):
    hs, (h, c) = rnn.lstm_layer(W, b, U, x, h0, c0, unroll)
    terms = loss_terms(hs, h, c)
    return jnp.sum(terms), terms

  grad = lambda f: jax.value_and_grad(f, argnums=range(6), has_aux=True)
  names = ('W', 'b', 'U', 'x', 'h0', 'c0')
  forward_terms = T * (D + 4 * H)  # T steps of the projections of 4 gates.
  backward_terms = T * B * 2 * forward_terms  # A weight's gradient: T·B rows, each back through up to T steps.
  with jax.enable_x64(True):
    args64 = tuple(jnp.asarray(a, jnp.float64) for a in (W, b, U, x, h0, c0))
    (value64, terms64), grads64 = jax.device_get(grad(reference)(*args64))
    for unroll in (1, 4):  # 4 does not divide T = 6: the read-ahead crosses unrolled and remainder steps.
      (value, terms), grads = grad(custom)(*args64, unroll)
      tolerances.assert_close(terms, terms64, forward_terms, dtype=jnp.float64, err_msg=f'unroll {unroll}')
      for name, got, want in zip(names, grads, grads64):
        tolerances.assert_close(got, want, backward_terms, dtype=jnp.float64, err_msg=f'd{name}, unroll {unroll}')
  args32 = tuple(jnp.asarray(a, jnp.float32) for a in (W, b, U, x, h0, c0))
  for unroll in (1, 4):
    (value, terms), grads = grad(custom)(*args32, unroll)
    tolerances.assert_close(terms, terms64, forward_terms, err_msg=f'unroll {unroll}')
    # The sum's error is at most that of its terms added up: their l1 norm bounds every partial sum.
    tolerances.assert_close(value, value64, forward_terms + terms64.size, scale=np.abs(terms64).sum())
    for name, got, want in zip(names, grads, grads64):
      tolerances.assert_close(got, want, backward_terms, err_msg=f'd{name}, unroll {unroll}')


def test_lstm_outputs_without_carry_equal_the_masked_scan():
  """need_carry=False (lstm_layer over the rows as padded, or reversed in place) gives the masked scan's outputs
  and gradients, in both directions, on rows of different lengths (one empty), with garbage in the padding."""
  T, B, D, H = 7, 4, 3, 5
  rng = np.random.RandomState(0)
  x_TBD = jnp.asarray(rng.randn(T, B, D), jnp.float32)
  length_B = np.array([7, 3, 0, 5])
  valid_TB = jnp.asarray(np.arange(T)[:, None] < length_B[None, :])
  x_TBD = jnp.where(valid_TB[..., None], x_TBD, 1e3)  # Padding that would show if it were read.
  layer = rnn.RecurrentLayer(H, 'lstm', time_major=True)
  params = layer.init(jax.random.PRNGKey(0), x_TBD)['params']
  weights_TBH = jnp.asarray(rng.randn(T, B, H), jnp.float32)
  for reverse in (False, True):
    def loss(p, x, need_carry):
      h_TBH, _ = layer.apply({'params': p}, x, valid=valid_TB, reverse=reverse, need_carry=need_carry)
      return jnp.sum(h_TBH * weights_TBH), h_TBH
    (_, want), grads_want = jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)(params, x_TBD, True)
    (_, got), grads_got = jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)(params, x_TBD, False)
    terms = T * (D + 4 * H)
    tolerances.assert_close(got, want, terms, err_msg=f'reverse={reverse}')
    assert not np.any(np.asarray(got)[~np.asarray(valid_TB)])  # Zeros at padding.
    for got_g, want_g in zip(jax.tree.leaves(grads_got), jax.tree.leaves(grads_want)):
      tolerances.assert_close(got_g, want_g, T * B * 2 * terms, err_msg=f'gradients, reverse={reverse}')
