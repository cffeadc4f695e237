"""The lax.scan recurrence against a Python loop and finite differences."""
import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

from models import rnn


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


def test_scan_equals_python_loop_values():
  layer, params, x = _layer_and_params()
  states, last = layer.apply({'params': params}, x)
  expected = _python_loop(params, x)
  np.testing.assert_allclose(states, expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(last, expected[:, -1], rtol=1e-5, atol=1e-6)


def test_scan_equals_python_loop_gradients():
  layer, params, x = _layer_and_params()
  target = jax.random.normal(jax.random.PRNGKey(9), (4, 7, 5))

  def scan_loss(p):
    return jnp.sum((layer.apply({'params': p}, x)[0] - target) ** 2)

  def loop_loss(p):  # The same recurrence as an unrolled Python loop, differentiated by JAX.
    h = jnp.zeros((4, 5))
    total = 0.0
    for t in range(7):
      h = jnp.tanh(x[:, t] @ p['kernel'] + h @ p['recurrent_kernel'] + p['bias'])
      total = total + jnp.sum((h - target[:, t]) ** 2)
    return total

  grads_scan, grads_loop = jax.grad(scan_loss)(params), jax.grad(loop_loss)(params)
  for name in params:
    np.testing.assert_allclose(grads_scan[name], grads_loop[name], rtol=1e-4, atol=1e-6)
    assert np.abs(grads_scan[name]).max() > 0


def test_scan_gradients_match_finite_differences_float64():
  with jax.enable_x64(True):
    layer = rnn.RecurrentLayer(4)
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 6, 2), jnp.float64)
    params = jax.tree.map(lambda p: p.astype(jnp.float64), layer.init(jax.random.PRNGKey(1), x)['params'])
    loss = lambda p, x: jnp.sum(jnp.sin(layer.apply({'params': p}, x)[0]))
    check_grads(loss, (params, x), order=2, modes=['rev'], eps=1e-6, atol=1e-7, rtol=1e-7)


def test_unroll_changes_nothing_numerically():
  _, params, x = _layer_and_params()
  base = rnn.RecurrentLayer(5, unroll=1).apply({'params': params}, x)[0]
  unrolled = rnn.RecurrentLayer(5, unroll=4).apply({'params': params}, x)[0]
  np.testing.assert_allclose(base, unrolled, rtol=1e-6, atol=1e-7)


def test_initializers_follow_keras():
  layer = rnn.RecurrentLayer(20)
  params = layer.init(jax.random.PRNGKey(0), jnp.zeros((1, 3, 30)))['params']
  U = np.asarray(params['recurrent_kernel'])
  np.testing.assert_allclose(U.T @ U, np.eye(20), atol=1e-5)  # Orthogonal.
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
  W, U, b = params['kernel'], params['recurrent_kernel'], params['bias']
  first = np.maximum(np.asarray(x[:, 0] @ W + h0 @ U + b), 0)
  np.testing.assert_allclose(states[:, 0], first, rtol=1e-5, atol=1e-6)


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
  np.testing.assert_allclose(states, expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(last, expected_last, rtol=1e-5, atol=1e-6)


def test_lstm_equals_a_numpy_loop_and_carries_h_and_c():
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 6, 4))
  layer = rnn.RecurrentLayer(5, cell='lstm')
  params = _randomized(layer, x)
  states, (h, c) = layer.apply({'params': params}, x)
  expected, (eh, ec) = _numpy_lstm(params, np.asarray(x, np.float64))
  np.testing.assert_allclose(states, expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(h, eh, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(c, ec, rtol=1e-5, atol=1e-6)


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
  np.testing.assert_allclose(layer.apply({'params': params}, x)[0], expected, rtol=1e-5, atol=1e-6)


def test_carried_state_splits_a_sequence_exactly():
  """Two windows with the carry passed on equal one long run: what truncated BPTT relies on."""
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 3))
  for cell in rnn.CELLS:
    layer = rnn.RecurrentLayer(4, cell=cell)
    params = {'params': _randomized(layer, x)}
    full, _ = layer.apply(params, x)
    first, carry = layer.apply(params, x[:, :5])
    second, _ = layer.apply(params, x[:, 5:], carry)
    np.testing.assert_allclose(np.concatenate([first, second], 1), full, rtol=1e-5, atol=1e-6, err_msg=cell)


def test_gated_cells_gradients_match_finite_differences_float64():
  with jax.enable_x64(True):
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 3), jnp.float64)
    for cell in ('gru', 'lstm'):
      layer = rnn.RecurrentLayer(3, cell=cell)
      params = jax.tree.map(lambda p: p.astype(jnp.float64), _randomized(layer, x))
      loss = lambda p, x: jnp.sum(jnp.sin(layer.apply({'params': p}, x)[0]))
      check_grads(loss, (params, x), order=1, modes=['rev'], eps=1e-6, atol=1e-7, rtol=1e-7)


def test_lstm_custom_backward_equals_autodiff_of_the_step_function():
  """lstm_layer's hand-written VJP against JAX's autodiff of projecting the inputs and scanning lstm_step."""
  x = jax.random.normal(jax.random.PRNGKey(0), (6, 3, 5))  # Time-major inputs, D = 5, H = 4.
  W = jax.random.normal(jax.random.PRNGKey(5), (5, 16)) * 0.5
  b = jax.random.normal(jax.random.PRNGKey(6), (16,))
  U = jax.random.normal(jax.random.PRNGKey(1), (4, 16)) * 0.5
  h0, c0 = jax.random.normal(jax.random.PRNGKey(2), (3, 4)), jax.random.normal(jax.random.PRNGKey(3), (3, 4))
  weights = jax.random.normal(jax.random.PRNGKey(4), (6, 3, 4))

  def reference(W, b, U, x, h0, c0):
    def body(carry, xw):
      carry = rnn.lstm_step({'recurrent_kernel': U}, carry, xw)
      return carry, carry[0]
    (h, c), hs = jax.lax.scan(body, (h0, c0), x @ W + b)
    return jnp.sum(hs * weights) + jnp.sum(jnp.sin(h)) + jnp.sum(c ** 2)

  def custom(W, b, U, x, h0, c0, unroll):
    hs, (h, c) = rnn.lstm_layer(W, b, U, x, h0, c0, unroll)
    return jnp.sum(hs * weights) + jnp.sum(jnp.sin(h)) + jnp.sum(c ** 2)

  args = (W, b, U, x, h0, c0)
  for unroll in (1, 4):  # 4 does not divide T = 6: the read-ahead crosses unrolled and remainder steps.
    np.testing.assert_allclose(custom(*args, unroll), reference(*args), rtol=1e-6)
    for got, want in zip(jax.grad(custom, argnums=range(6))(*args, unroll),
                         jax.grad(reference, argnums=range(6))(*args)):
      np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
