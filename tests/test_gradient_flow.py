"""bench/gradient_flow.py: ∂L/∂h_t through the recurrence, against finite differences, and its CLI."""
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
import tasks
from bench import gradient_flow
from models import rnn
from training import config_loading
from training import errors
from training import loop
from training import optim
from training import sharding

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize('cell', ['elman', 'lstm', 'urnn'])
def test_a_zero_perturbation_changes_nothing_and_its_gradient_is_the_total_derivative(cell):
  layer = rnn.RecurrentLayer(4, cell)
  x = jax.random.normal(jax.random.key(0), (2, 6, 3))
  params = layer.init(jax.random.key(1), x)['params']
  plain, _ = layer.apply({'params': params}, x)
  with jax.enable_x64():
    params64 = jax.tree.map(lambda p: jnp.asarray(p, jnp.float64), params)
    x64 = jnp.asarray(x, jnp.float64)
    weights = jax.random.normal(jax.random.key(2), (4,), jnp.float64)

    def loss(perturb_TBH):  # Reads only the last step: every earlier h_t matters through the recurrence alone.
      h_BTH, _ = layer.apply({'params': params64, 'perturbations': {'hidden': perturb_TBH}}, x64)
      return jnp.sum(jnp.tanh(h_BTH[:, -1]) * weights)
    zeros = jnp.zeros((6, 2, 4), jnp.float64)
    h_BTH, _ = layer.apply({'params': params64, 'perturbations': {'hidden': zeros}}, x64)
    np.testing.assert_allclose(np.asarray(h_BTH), np.asarray(plain), atol=1e-5)
    grads = jax.grad(loss)(zeros)
    for t, b, j in ((0, 0, 1), (2, 1, 3), (5, 0, 0)):
      step = 1e-6
      bump = zeros.at[t, b, j].set(step)
      numeric = (loss(bump) - loss(-bump)) / (2 * step)
      assert float(grads[t, b, j]) == pytest.approx(float(numeric), rel=1e-5, abs=1e-9)


def test_gradient_flow_cli_on_a_trained_copy_run(tmp_path):
  config = config_loading.apply_overrides(config_loading.load_config('configs/copy/rnn.py:tiny'),
                                          {'log.progress_bar': False})
  workdir = str(tmp_path / 'rnn_copy' / 'seed_0')
  loop.train_and_evaluate(config, workdir)
  # The script's initial parameters are the ones the train loop starts from.
  task = tasks.build(config, workdir, resuming=True)
  model = models.build(config.model, **task.model_dims)
  tx = optim.build_optimizer(config, config.train.num_steps, 1)
  state, _ = loop.create_train_state(config, task, model, tx, sharding.build_mesh(config.mesh))
  jax.tree.map(np.testing.assert_array_equal, gradient_flow.initial_params(config, task, model), state.params)
  out = str(tmp_path / 'flow.png')
  result = subprocess.run([sys.executable, 'bench/gradient_flow.py', f'--workdirs={workdir}', f'--out={out}'],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
  assert result.returncode == 0, result.stderr
  assert 'rnn_copy' in result.stdout and os.path.getsize(out) > 1000 and os.path.exists(str(tmp_path / 'flow.json'))
  with pytest.raises(errors.WorkdirError, match='config.json'):  # The script prints it as one error line.
    gradient_flow.load_run(str(tmp_path))
