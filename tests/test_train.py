"""The train loop end to end: outputs, resumption (also after SIGKILL), NaN stops."""
import json
import os
import re
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


def _finished_steps(checkpoints):
  """Steps whose orbax folder is committed: named by the bare step (orbax writes into a
  '<step>.orbax-checkpoint-tmp-*' folder and renames it when done) and holding its metadata."""
  if not checkpoints.exists():
    return []
  return sorted(int(d.name) for d in checkpoints.iterdir()
                if d.name.isdigit() and (d / '_CHECKPOINT_METADATA').exists())


def _train_records(workdir):
  records = [json.loads(line) for line in open(workdir / 'metrics.jsonl')]
  return [(r['step'], r['loss']) for r in records if r['split'] == 'train']


def test_sigkill_after_a_checkpoint_then_resume_gives_the_same_results(tmp_path):
  """SIGKILL once a committed checkpoint is on disk (while the run goes on), then resume: the same results
  and training records as an uninterrupted run."""
  def start(workdir, num_steps):
    """train.py in a child process, its stderr in workdir.log (a pipe nobody reads could stall it)."""
    command = [sys.executable, os.path.join(config_loading.REPO_ROOT, 'train.py'),
               '--config=configs/timeseries/deep_rnn_dense.py:tiny', f'--config.train.num_steps={num_steps}',
               '--config.checkpoint.every_steps=50', '--config.eval.every_steps=1000',
               '--config.log.progress_bar=False', f'--workdir={workdir}']
    with open(f'{workdir}.log', 'w') as log:
      return subprocess.Popen(command, env=dict(os.environ, JAX_PLATFORMS='cpu'), stdout=subprocess.DEVNULL,
                              stderr=log, cwd=config_loading.REPO_ROOT)

  def finish(process, workdir):
    assert process.wait(timeout=600) == 0, open(f'{workdir}.log').read()[-3000:]
    return open(f'{workdir}.log').read()

  # The run must still be going when its first checkpoint appears: 250 steps and 5 saves remain after it.
  # Should a stalled test process miss that, a ten times longer run tries again.
  for num_steps in (300, 3000):
    whole = tmp_path / f'whole_{num_steps}'
    uninterrupted = start(whole, num_steps)  # Alongside.
    killed = tmp_path / f'killed_{num_steps}'
    process = start(killed, num_steps)
    deadline = time.monotonic() + 300  # Starting jax and compiling take seconds; 300 s means it is stuck.
    while not _finished_steps(killed / 'checkpoints') and process.poll() is None and time.monotonic() < deadline:
      time.sleep(0.002)
    saved = _finished_steps(killed / 'checkpoints')
    running = process.poll() is None
    process.kill()  # SIGKILL.
    process.wait()
    assert saved, f'no committed checkpoint (running: {running}): {open(f"{killed}.log").read()[-3000:]}'
    if running:
      break
    uninterrupted.kill()
    uninterrupted.wait()
  else:
    pytest.fail('the run finished before it could be killed, twice')
  assert process.returncode == -signal.SIGKILL
  assert not (killed / 'results.json').exists()
  assert max(saved) < num_steps  # Killed mid-run, with a checkpoint of that run on disk.
  latest = max(_finished_steps(killed / 'checkpoints'))  # Saves may have gone on until the kill landed.

  resumed_log = finish(start(killed, num_steps), killed)
  assert re.search(rf'from step {latest}\b', resumed_log), resumed_log[-3000:]  # Not from scratch.
  finish(uninterrupted, whole)
  assert _read(killed / 'results.json') == _read(whole / 'results.json')
  assert _train_records(killed) == _train_records(whole)


def test_nonfinite_loss_stops_naming_the_step_and_keeps_the_good_checkpoint(tiny_config, tmp_path):
  config = tiny_config('dense', **{'optimizer.name': 'sgd', 'optimizer.learning_rate': 1e30,
                                   'checkpoint.every_steps': 1, 'log.every_steps': 1})
  with pytest.raises(FloatingPointError, match=r'Non-finite loss or gradient at step (\d+)') as error:
    loop.train_and_evaluate(config, str(tmp_path))
  bad_step = int(error.value.args[0].split('at step ')[1].split(';')[0])
  saved = sorted(int(d) for d in os.listdir(tmp_path / 'checkpoints'))
  assert saved and max(saved) == bad_step - 1
  assert re.search(rf'checkpoint\b.*\bstep {bad_step - 1}\b', str(error.value)), str(error.value)
  assert not (tmp_path / 'results.json').exists()


def test_profile_writes_a_trace_of_the_requested_steps(tiny_config, tmp_path, capsys):
  config = tiny_config('dense', **{'profile.start_step': 4, 'profile.num_steps': 3, 'train.steps_per_call': 2})
  loop.train_and_evaluate(config, str(tmp_path))
  traces = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path / loop.PROFILE_DIR) for f in fs
            if f.endswith('.xplane.pb')]
  assert len(traces) == 1 and os.path.getsize(traces[0]) > 0
  assert 'Profile written to' in capsys.readouterr().out


def test_a_wandb_run_is_one_tracked_run_that_a_resumed_run_continues(tiny_config, tmp_path, monkeypatch):
  wandb = pytest.importorskip('wandb', reason="the tracking extra (pip install -e '.[tracking]') is not installed")
  monkeypatch.setenv('WANDB_SILENT', 'true')
  sent = []
  log = wandb.sdk.wandb_run.Run.log
  monkeypatch.setattr(wandb.sdk.wandb_run.Run, 'log',
                      lambda run, data, step=None, **kw: sent.append((run.id, step, sorted(data))) or log(
                          run, data, step=step, **kw))
  config = tiny_config('dense', **{'log.wandb_project': 'seqlab-test', 'log.wandb_mode': 'offline',
                                   'train.num_steps': 20, 'checkpoint.every_steps': 10})
  loop.train_and_evaluate(config, str(tmp_path))
  run_id = open(tmp_path / 'wandb_id').read().strip()
  first = list(sent)
  assert {entry[0] for entry in first} == {run_id}
  assert any(step == 20 and 'train/loss' in keys for _, step, keys in first)
  assert any(step == 20 and 'test/mse' in keys for _, step, keys in first)
  # Roll back to step 10 as if killed there: the resumed run sends nothing it sent before.
  shutil.rmtree(tmp_path / 'checkpoints' / '20')
  os.remove(tmp_path / 'results.json')
  sent.clear()
  loop.train_and_evaluate(config, str(tmp_path))
  assert sent == [] and open(tmp_path / 'wandb_id').read().strip() == run_id  # Steps 11-20 were sent already.
  assert len([d for d in os.listdir(tmp_path / 'wandb') if d.endswith(run_id)]) == 2  # Two starts, one run.
