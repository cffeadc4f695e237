"""The train loop end to end: outputs, resumption (also after SIGKILL), NaN stops."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import models
import tasks
from training import config_loading
from training import loop
from training import optim


def _read(path):
  with open(path) as f:
    return json.load(f)


def test_run_writes_everything(tiny_config, tmp_path):
  results = loop.train_and_evaluate(tiny_config('deep_rnn_dense'), str(tmp_path))
  assert set(results) == {'valid/mse', 'valid/mae', 'test/mse', 'test/mae', 'model/params'}
  assert _read(tmp_path / 'results.json') == results
  assert _read(tmp_path / 'config.json')['derived']['total_steps'] == 20
  records = [json.loads(line) for line in open(tmp_path / 'metrics.jsonl')]
  assert [r['step'] for r in records if r['split'] == 'train'] == [5, 10, 15, 20]
  assert [r['step'] for r in records if r['split'] == 'valid'] == [10, 20]
  assert {'loss', 'mse', 'grad_norm', 'learning_rate', 'wall_time'} <= set(records[0])
  assert os.listdir(tmp_path / 'tensorboard')
  assert sorted(os.listdir(tmp_path / 'checkpoints')) == ['15', '20']  # max_to_keep = 2
  assert os.path.getsize(tmp_path / 'curves.png') > 1000


def test_one_step_changes_every_parameter(tiny_config):
  config = tiny_config('deep_rnn_dense')
  task = tasks.build(config, None)
  model = models.build(config.model, **task.model_dims)
  batch = next(task.train_batcher(10, 0))
  params = task.init_variables(model, jax.random.PRNGKey(0), batch, ())['params']
  tx = optim.build_optimizer(config, 20, 7)
  state = loop.TrainState(step=0, params=params, opt_state=tx.init(params), rng=jax.random.PRNGKey(1), carry=())
  new_state, metrics, finite = jax.jit(loop.make_train_step(model, task, tx, optim.build_schedule(config, 20, 7)))(
      state, batch)
  assert bool(finite) and int(new_state.step) == 1
  for path, (old, new) in zip(jax.tree_util.tree_leaves_with_path(params),
                              zip(jax.tree.leaves(params), jax.tree.leaves(new_state.params))):
    assert np.all(np.asarray(old) != np.asarray(new)), path


def test_resume_from_a_checkpoint_equals_the_uninterrupted_run(tiny_config, tmp_path):
  config = tiny_config('deep_rnn_dense', **{'checkpoint.max_to_keep': 5})
  full = loop.train_and_evaluate(config, str(tmp_path / 'full'))
  interrupted = tmp_path / 'interrupted'
  loop.train_and_evaluate(config, str(interrupted))
  # Roll the workdir back to step 10, as if the process had died there.
  shutil.rmtree(interrupted / 'checkpoints' / '20')
  shutil.rmtree(interrupted / 'checkpoints' / '15')
  os.remove(interrupted / 'results.json')
  assert loop.train_and_evaluate(config, str(interrupted)) == full
  records = [json.loads(line) for line in open(interrupted / 'metrics.jsonl')]
  keys = [(r['step'], r['split']) for r in records]
  assert len(keys) == len(set(keys))  # Records past the checkpoint were rewritten, not repeated.


def test_sigkill_mid_run_then_resume_gives_the_same_results(tmp_path):
  args = ['--config=configs/timeseries/deep_rnn_dense.py:tiny', '--config.train.num_steps=3000',
          '--config.checkpoint.every_steps=100', '--config.eval.every_steps=1000']
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  command = [sys.executable, os.path.join(config_loading.REPO_ROOT, 'train.py'), *args]
  workdir = tmp_path / 'killed'
  process = subprocess.Popen(command + [f'--workdir={workdir}'], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, cwd=config_loading.REPO_ROOT)
  def saved_steps():
    return [int(d) for d in os.listdir(workdir / 'checkpoints') if d.isdigit()] if (workdir / 'checkpoints').exists() else []
  deadline = time.time() + 120
  while time.time() < deadline and max(saved_steps(), default=0) < 200:
    time.sleep(0.005)
  process.send_signal(signal.SIGKILL)
  process.wait()
  assert not (workdir / 'results.json').exists(), 'the run finished before it could be killed'
  subprocess.run(command + [f'--workdir={workdir}'], env=env, check=True, capture_output=True,
                 cwd=config_loading.REPO_ROOT, timeout=300)
  subprocess.run(command + [f'--workdir={tmp_path / "whole"}'], env=env, check=True, capture_output=True,
                 cwd=config_loading.REPO_ROOT, timeout=300)
  assert _read(workdir / 'results.json') == _read(tmp_path / 'whole' / 'results.json')


def test_nonfinite_loss_stops_naming_the_step_and_keeps_the_good_checkpoint(tiny_config, tmp_path):
  config = tiny_config('dense', **{'optimizer.name': 'sgd', 'optimizer.learning_rate': 1e30,
                                   'checkpoint.every_steps': 1, 'log.every_steps': 1})
  with pytest.raises(FloatingPointError, match=r'Non-finite loss or gradient at step (\d+)') as error:
    loop.train_and_evaluate(config, str(tmp_path))
  bad_step = int(error.value.args[0].split('at step ')[1].split(';')[0])
  saved = sorted(int(d) for d in os.listdir(tmp_path / 'checkpoints'))
  assert saved and max(saved) == bad_step - 1
  assert f'(step {bad_step - 1})' in str(error.value)
  assert not (tmp_path / 'results.json').exists()
