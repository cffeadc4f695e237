"""Every optimizer and schedule builds and steps; schedules against their closed forms."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import common
from training import optim


def _config(**overrides):
  config = common.get_config()
  for dotted, value in overrides.items():
    section, key = dotted.split('.')
    config[section][key] = value
  return config


PARAMS = {'w': jnp.array([[1.0, -2.0], [0.5, 3.0]]), 'b': jnp.array([0.3, -0.1])}
loss = lambda p: jnp.sum(p['w'] ** 2) + jnp.sum((p['b'] - 1.0) ** 2)


@pytest.mark.parametrize('name', list(optim.OPTIMIZERS))
def test_every_optimizer_takes_a_step_that_lowers_the_loss(name):
  lr = 1.0 if name == 'adadelta' else 0.05  # Adadelta's steps start near sqrt(eps).
  tx = optim.build_optimizer(_config(**{'optimizer.name': name, 'optimizer.learning_rate': lr,
                                        'optimizer.eps': 1e-6}), 100, 10)
  params, state = PARAMS, tx.init(PARAMS)
  for _ in range(3):
    updates, state = tx.update(jax.grad(loss)(params), state, params)
    params = optax.apply_updates(params, updates)
  assert all(np.all(params[k] != PARAMS[k]) for k in PARAMS)
  assert loss(params) < loss(PARAMS)


@pytest.mark.parametrize('name', list(optim.SCHEDULES))
def test_every_schedule_builds_and_steps(name):
  tx = optim.build_optimizer(_config(**{'schedule.name': name, 'schedule.warmup_steps': 2}), 100, 10)
  updates, _ = tx.update(jax.grad(loss)(PARAMS), tx.init(PARAMS), PARAMS)
  assert all(np.isfinite(u).all() for u in jax.tree.leaves(updates))


def test_warmup_cosine_closed_form():
  c = _config(**{'optimizer.learning_rate': 1e-3, 'schedule.name': 'warmup_cosine',
                 'schedule.warmup_steps': 100, 'schedule.end_learning_rate': 1e-4})
  s = optim.build_schedule(c, total_steps=2000, steps_per_epoch=10)
  for step in [0, 50, 100, 600, 1500, 2000]:
    if step < 100:
      expected = 1e-3 * step / 100
    else:
      expected = 1e-4 + 0.5 * (1e-3 - 1e-4) * (1 + np.cos(np.pi * (step - 100) / 1900))
    assert float(s(step)) == pytest.approx(expected, rel=1e-5, abs=1e-9)


def test_warmup_rsqrt_closed_form():
  c = _config(**{'optimizer.learning_rate': 2.0, 'schedule.name': 'warmup_rsqrt', 'schedule.warmup_steps': 16})
  s = optim.build_schedule(c, 1000, 10)
  assert float(s(4)) == pytest.approx(2.0 * 4 / 16)
  assert float(s(16)) == pytest.approx(2.0)
  assert float(s(64)) == pytest.approx(2.0 * (16 / 64) ** 0.5)


def test_step_decay_divides_every_epoch_after_the_start_epoch():
  c = _config(**{'optimizer.learning_rate': 1.0, 'schedule.name': 'step_decay',
                 'schedule.decay_factor': 2.0, 'schedule.decay_start_epoch': 4})
  s = optim.build_schedule(c, 1000, steps_per_epoch=10)
  assert [float(s(10 * e + 3)) for e in range(7)] == [1, 1, 1, 1, 0.5, 0.25, 0.125]


def test_clipping_bounds_the_update_norm():
  tx = optim.build_optimizer(_config(**{'optimizer.name': 'sgd', 'optimizer.learning_rate': 1.0,
                                        'optimizer.clip_norm': 0.5}), 10, 10)
  grads = jax.grad(loss)(PARAMS)
  updates, _ = tx.update(grads, tx.init(PARAMS), PARAMS)
  assert float(optax.tree.norm(grads)) > 0.5
  assert float(optax.tree.norm(updates)) == pytest.approx(0.5, rel=1e-5)


def test_adamw_decays_matrices_only():
  tx = optim.build_optimizer(_config(**{'optimizer.name': 'adamw', 'optimizer.learning_rate': 0.1,
                                        'optimizer.weight_decay': 0.5}), 10, 10)
  zeros = jax.tree.map(jnp.zeros_like, PARAMS)
  updates, _ = tx.update(zeros, tx.init(PARAMS), PARAMS)
  np.testing.assert_allclose(updates['w'], -0.1 * 0.5 * PARAMS['w'], rtol=1e-6)
  np.testing.assert_array_equal(updates['b'], 0.0)


def test_unknown_names_list_choices():
  with pytest.raises(ValueError, match=r"optimizer.name 'adamm'.*sgd, momentum, nesterov"):
    optim.build_optimizer(_config(**{'optimizer.name': 'adamm'}), 10, 10)
  with pytest.raises(ValueError, match=r"schedule.name 'cosine'.*constant, warmup_cosine"):
    optim.build_schedule(_config(**{'schedule.name': 'cosine'}), 10, 10)


def test_lr_scales_multiply_the_named_parameters_updates_only():
  params = {'layer': {'skew': jnp.ones(3), 'kernel': jnp.ones((2, 2))}, 'head': {'kernel': jnp.ones(2)}}
  grads = jax.tree.map(lambda p: jnp.arange(1.0, p.size + 1).reshape(p.shape), params)
  plain = optax.rmsprop(1e-2, decay=0.9, eps=1e-8)
  expected, _ = plain.update(grads, plain.init(params), params)
  tx = optim.build_optimizer(_config(**{'optimizer.name': 'rmsprop', 'optimizer.learning_rate': 1e-2,
                                        'optimizer.lr_scales': 'skew=0.1'}), 10, 10)
  got, _ = tx.update(grads, tx.init(params), params)
  np.testing.assert_allclose(got['layer']['skew'], 0.1 * expected['layer']['skew'], rtol=1e-6)
  np.testing.assert_array_equal(got['layer']['kernel'], expected['layer']['kernel'])
  np.testing.assert_array_equal(got['head']['kernel'], expected['head']['kernel'])
  with pytest.raises(ValueError, match='no parameter is called; parameter names: kernel, skew'):
    optim.build_optimizer(_config(**{'optimizer.lr_scales': 'skw=0.1'}), 10, 10).init(params)
  for bad in ('skew', 'skew=x', '=0.1', 'skew=0'):
    with pytest.raises(ValueError, match='optimizer.lr_scales entry'):
      optim.parse_lr_scales(bad)
