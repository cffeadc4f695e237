"""Norm-preserving recurrences (uRNN, expRNN), the copying task and the norm-stabilizer, each against an
independent reference: numpy matrices built factor by factor, numpy loops, and a direct computation."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.linalg

import models
import tasks
from data import synthetic
from models import rnn
from models import unitary
from tasks import base
from training import config_loading
from training import loop


def _urnn_params(units, seed=0):
  return unitary.urnn_init(jax.random.key(seed), units)


def _numpy_urnn_w(params):
  """W = D3 R2 F⁻¹ D2 Π R1 F D1 as explicit complex128 matrices (column-vector convention)."""
  phases, reflections = np.asarray(params['phases'], np.float64), np.asarray(params['reflections'], np.float64)
  n = phases.shape[1]
  diag = [np.diag(np.exp(1j * phases[k])) for k in range(3)]
  refl = []
  for k in range(2):
    v = (reflections[k, 0] + 1j * reflections[k, 1])[:, None]
    refl.append(np.eye(n) - 2 * (v @ v.conj().T) / (v.conj().T @ v).real)
  j, k = np.meshgrid(np.arange(n), np.arange(n), indexing='ij')
  dft = np.exp(-2j * np.pi * j * k / n) / np.sqrt(n)
  perm = np.zeros((n, n))
  perm[np.arange(n), unitary.fixed_permutation(n)] = 1.0  # (Π z)_i = z_perm[i].
  return diag[2] @ refl[1] @ dft.conj().T @ diag[1] @ perm @ refl[0] @ dft @ diag[0]


@pytest.mark.parametrize('units', [8, 64])
def test_urnn_matrix_is_unitary_and_equals_the_product_of_its_factors(units):
  for seed in range(3):
    params = _urnn_params(units, seed)
    m = np.asarray(unitary.urnn_matrix(params))
    np.testing.assert_allclose(m @ m.conj().T, np.eye(units), atol=1e-5)
    np.testing.assert_allclose(m, _numpy_urnn_w(params).T, atol=1e-5)
    real = np.asarray(unitary.complex_as_real(unitary.urnn_matrix(params)))
    np.testing.assert_allclose(real @ real.T, np.eye(2 * units), atol=1e-5)


def test_urnn_layer_equals_a_complex_numpy_loop():
  layer = rnn.RecurrentLayer(16, 'urnn')
  x = jax.random.normal(jax.random.key(1), (3, 7, 4))
  variables = layer.init(jax.random.key(0), x)
  p = jax.tree.map(np.asarray, variables['params'])
  p['modrelu_bias'] = np.linspace(-0.3, 0.1, 8).astype(np.float32)
  h, _ = layer.apply({'params': p}, x)
  w = _numpy_urnn_w({'phases': p['phases'], 'reflections': p['reflections']})
  kernel = p['kernel'].astype(np.float64)
  z = np.zeros((3, 8), complex)
  for t in range(7):
    xv = np.asarray(x[:, t], np.float64) @ kernel
    pre = (w @ z.T).T + xv[:, :8] + 1j * xv[:, 8:]
    modulus = np.abs(pre)
    z = np.maximum(modulus + p['modrelu_bias'], 0) * pre / modulus
    np.testing.assert_allclose(np.asarray(h[:, t]), np.concatenate([z.real, z.imag], -1), atol=1e-5)


def test_exprnn_matrix_is_expm_of_a_skew_matrix_and_stays_orthogonal_after_100_optimizer_steps():
  size = 12
  skew = jax.random.normal(jax.random.key(0), (unitary.skew_size(size),))
  a = np.asarray(unitary.skew_symmetric(skew, size))
  np.testing.assert_array_equal(a, -a.T)
  np.testing.assert_allclose(np.asarray(unitary.exprnn_matrix(skew, size)), scipy.linalg.expm(a), atol=1e-5)
  # Henaff's initialization: 2x2 rotation blocks.
  start = np.asarray(unitary.exprnn_matrix(unitary.henaff_init(size)(jax.random.key(1), skew.shape), size))
  assert np.count_nonzero(np.abs(start) > 1e-7) == 2 * size
  # Train a layer hard on a loss that pulls its outputs anywhere: W must stay orthogonal.
  layer = rnn.RecurrentLayer(size, 'exprnn')
  x = jax.random.normal(jax.random.key(2), (4, 9, 3))
  target = jax.random.normal(jax.random.key(3), (4, 9, size))
  params = layer.init(jax.random.key(0), x)['params']
  optimizer = optax.rmsprop(1e-2)
  state = optimizer.init(params)
  loss = lambda p: jnp.mean((layer.apply({'params': p}, x)[0] - target) ** 2)

  @jax.jit
  def step(params, state):
    grads = jax.grad(loss)(params)
    updates, state = optimizer.update(grads, state)
    return optax.apply_updates(params, updates), state
  first = loss(params)
  for _ in range(100):
    params, state = step(params, state)
  assert loss(params) < first
  w = np.asarray(unitary.exprnn_matrix(params['skew'], size))
  np.testing.assert_allclose(w @ w.T, np.eye(size), atol=1e-5)
  assert np.abs(w - start).max() > 0.1  # It did move.


def test_urnn_needs_an_even_width():
  config = config_loading.load_config('configs/copy/urnn.py:tiny')
  config.model.hidden_sizes = (9,)
  with pytest.raises(ValueError, match='even widths'):
    models.build(config.model)


def test_copy_task_layout_and_its_memoryless_baseline():
  delay = 30
  inputs, targets = synthetic.copy_memory(5000, delay, np.random.default_rng(0))
  assert inputs.shape == targets.shape == (5000, delay + 20)
  symbols = inputs[:, :10]
  assert ((symbols >= 1) & (symbols <= 8)).all()
  assert (inputs[:, 10:delay + 9] == 0).all() and (inputs[:, delay + 9] == 9).all()
  assert (inputs[:, delay + 10:] == 0).all()
  assert (targets[:, :delay + 10] == 0).all()
  np.testing.assert_array_equal(targets[:, -10:], symbols)
  # The best memoryless predictor: the empirical distribution of each step's target over the data.
  total = 0.0
  for t in range(delay + 20):
    counts = np.bincount(targets[:, t], minlength=10) / len(targets)
    total -= np.log(counts[targets[:, t]]).sum()
  per_step = total / (len(targets) * (delay + 20))
  assert per_step == pytest.approx(synthetic.copy_baseline(delay), rel=0.01)
  assert synthetic.copy_baseline(delay) == pytest.approx(10 * math.log(8) / (delay + 20))


def _numpy_norm_stabilizer(h0, h, valid, reverse):
  total, count = 0.0, 0
  for b in range(h.shape[1]):
    steps = [t for t in range(h.shape[0]) if valid[t, b]]
    order = steps[::-1] if reverse else steps
    previous = np.linalg.norm(h0[b])
    for t in order:
      norm = np.linalg.norm(h[t, b])
      total += (norm - previous) ** 2
      count += 1
      previous = norm
  return total / count


@pytest.mark.parametrize('reverse', [False, True])
def test_norm_stabilizer_term_equals_a_numpy_loop(reverse):
  rng = np.random.default_rng(0)
  h0, h = rng.normal(size=(3, 4)), rng.normal(size=(6, 3, 4))
  valid = np.arange(6)[:, None] < np.array([6, 4, 1])[None]
  got = rnn.norm_stabilizer_term(jnp.asarray(h0), jnp.asarray(h), jnp.asarray(valid), reverse)
  assert float(got) == pytest.approx(_numpy_norm_stabilizer(h0, h, valid, reverse), rel=1e-5)
  full = rnn.norm_stabilizer_term(jnp.asarray(h0), jnp.asarray(h))
  assert float(full) == pytest.approx(_numpy_norm_stabilizer(h0, h, np.ones((6, 3), bool), False), rel=1e-5)


def test_the_penalty_sums_every_layer_and_is_zero_when_off():
  config = config_loading.load_config('configs/copy/lstm.py:tiny')
  config.model.hidden_sizes = (8, 6)
  config.model.every_step = True
  model = models.build(config.model)
  x = jax.random.normal(jax.random.key(0), (2, 5, 10))
  variables = {'params': model.init(jax.random.key(1), x)['params']}
  out, penalty = base.apply_with_norm_stabilizer(model, variables, 0.0, x)
  assert float(penalty) == 0.0
  out_penalized, penalty = base.apply_with_norm_stabilizer(model, variables, 3.0, x)
  np.testing.assert_array_equal(out, out_penalized)
  # The layers' own outputs, through the numpy loop.
  h1, _ = rnn.RecurrentLayer(8, 'lstm').apply({'params': variables['params']['rnn_0']}, x)
  h2, _ = rnn.RecurrentLayer(6, 'lstm').apply({'params': variables['params']['rnn_1']}, h1)
  expected = sum(_numpy_norm_stabilizer(np.zeros((2, h.shape[-1])), np.swapaxes(np.asarray(h), 0, 1),
                                        np.ones((5, 2), bool), False) for h in (h1, h2))
  assert float(penalty) == pytest.approx(3.0 * expected, rel=1e-5)


def _toy_data(path, tmp_path) -> dict:
  """Overrides that point a tiny config at small files written here (no shared data needed)."""
  if 'tag' in path:
    from tests import test_tagging  # pylint: disable=import-outside-toplevel
    return test_tagging._files(tmp_path)
  if 'classify' in path:
    paths = {}
    for split, n in (('train', 40), ('valid', 8), ('test', 8)):
      (tmp_path / split).write_text(''.join(f'{i % 2} {("good fun", "dull flat")[i % 2]} film .\n' for i in range(n)))
      paths[f'data.{split}_path'] = str(tmp_path / split)
    return {'data.dir': '', 'data.name': 'files', **paths}
  if 'charlm' in path:
    (tmp_path / 'text.txt').write_text('To be, or not to be: that is the question.\n' * 120)
    return {'data.dir': '', 'data.name': 'files', 'data.train_path': str(tmp_path / 'text.txt')}
  return {}


def test_norm_stabilizer_config_errors(tmp_path):
  config = config_loading.load_config('configs/mt/lstm.py:tiny')
  config.task.norm_stabilizer = 1.0
  with pytest.raises(config_loading.ConfigError, match='tasks classification, copy, lm, regression, tag;'):
    config_loading.validate(config)
  config = config_loading.apply_overrides(config_loading.load_config('configs/classify/transformer.py:tiny'),
                                          {'task.norm_stabilizer': 1.0, 'log.progress_bar': False,
                                           **_toy_data('classify', tmp_path)})
  with pytest.raises(ValueError, match='needs a recurrent model'):
    loop.train_and_evaluate(config, str(tmp_path / 'transformer'))
  config = config_loading.load_config('configs/copy/lstm.py:tiny')
  config.task.norm_stabilizer = -1.0
  with pytest.raises(config_loading.ConfigError, match='must be >= 0'):
    config_loading.validate(config)


@pytest.mark.parametrize('name', ['rnn', 'irnn', 'lstm', 'urnn', 'exprnn'])
def test_copy_configs_validate_and_train(name, tmp_path):
  config_loading.validate(config_loading.load_config(f'configs/copy/{name}.py'))
  if name == 'urnn':  # One end-to-end run of the task (expRNN trains in the orthogonality test above).
    overrides = {'log.progress_bar': False, 'task.norm_stabilizer': 0.5}
    config = config_loading.apply_overrides(config_loading.load_config(f'configs/copy/{name}.py:tiny'), overrides)
    results = loop.train_and_evaluate(config, str(tmp_path))
    assert {'test/ce', 'test/ce_ratio', 'test/recall'} <= set(results)
    assert results['test/ce_ratio'] == pytest.approx(results['test/ce'] / synthetic.copy_baseline(5), rel=1e-5)


@pytest.mark.parametrize('path', ['configs/classify/bilstm.py', 'configs/tag/bilstm.py', 'configs/charlm/lstm.py',
                                  'configs/adding/lstm.py'])
def test_the_norm_stabilizer_is_added_to_each_recurrent_tasks_training_loss(path, tmp_path):
  """loss(β) = loss(0) + β × a positive term, the metrics unchanged (the term itself is tested above)."""
  overrides = {'log.progress_bar': False, **_toy_data(path, tmp_path)}
  config = config_loading.apply_overrides(config_loading.load_config(f'{path}:tiny'), overrides)
  task = tasks.build(config, str(tmp_path / 'run'))
  model = models.build(config.model, **task.model_dims)
  batch = jax.tree.map(jnp.asarray, next(task.train_batcher(config.train.batch_size, 0)))
  carry = task.init_carry(model, config.train.batch_size)
  params = task.init_variables(model, jax.random.key(0), batch, carry)['params']
  results = {}
  for beta in (0.0, 1.0, 3.0):
    task = tasks.build(config_loading.apply_overrides(config, {'task.norm_stabilizer': beta}),
                       str(tmp_path / f'run_{beta}'))
    results[beta] = task.loss(model, params, batch, carry, jax.random.key(1), 0)
  term = float(results[1.0][0] - results[0.0][0])
  assert term > 0
  assert float(results[3.0][0] - results[0.0][0]) == pytest.approx(3 * term, rel=1e-4)
  jax.tree.map(np.testing.assert_array_equal, results[3.0][1][0], results[0.0][1][0])
