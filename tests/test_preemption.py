"""Preemption: a signal stops a run with a checkpoint of the step it reached; the same command resumes it to
the results an uninterrupted run gives. Also with two processes (jax.distributed), which save together."""
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from training import config_loading
from training import preemption

REPO = config_loading.REPO_ROOT
TINY = ['--config=configs/timeseries/deep_rnn_dense.py:tiny', '--config.checkpoint.every_steps=100',
        '--config.eval.every_steps=50', '--config.log.every_steps=10', '--config.log.progress_bar=False']


def _start(workdir, *args, env=None):
  log = open(f'{workdir}.log', 'a')
  return subprocess.Popen([sys.executable, os.path.join(REPO, 'train.py'), f'--workdir={workdir}', *TINY, *args],
                          env=dict(env or os.environ, JAX_PLATFORMS='cpu'), stdout=log, stderr=log, cwd=REPO)


def _read(path):
  with open(path) as f:
    return json.load(f)


def _wait_for_training(workdir, process, records=2):
  """Until the run has logged `records` training records (it is inside the loop), or has ended."""
  deadline = time.monotonic() + 300
  path = workdir / 'metrics.jsonl'
  while process.poll() is None and time.monotonic() < deadline:
    if path.exists() and sum('"train"' in line for line in open(path)) >= records:
      return
    time.sleep(0.01)


def _saved_steps(workdir):
  return sorted(int(d) for d in os.listdir(workdir / 'checkpoints') if d.isdigit())


def test_a_sigterm_saves_the_step_it_reached_and_the_resumed_run_ends_like_an_uninterrupted_one(tmp_path):
  signal_number, steps = signal.SIGTERM, 500  # Long enough that the signal lands mid-run.
  whole = _start(tmp_path / 'whole', f'--config.train.num_steps={steps}')
  stopped = tmp_path / 'stopped'
  process = _start(stopped, f'--config.train.num_steps={steps}')
  _wait_for_training(stopped, process)
  time.sleep(random.Random(int(signal_number)).uniform(0.0, 0.3))  # A moment inside the loop.
  process.send_signal(signal_number)
  assert process.wait(timeout=300) == 128 + signal_number, open(f'{stopped}.log').read()[-3000:]
  log = open(f'{stopped}.log').read()
  name = signal.Signals(signal_number).name
  match = re.search(rf'stopped by {name} at step (\d+), with a checkpoint of that step', log)
  assert match, log[-3000:]
  step = int(match.group(1))
  assert 0 < step < steps and _saved_steps(stopped)[-1] == step
  assert not (stopped / 'results.json').exists()

  resumed = _start(stopped, f'--config.train.num_steps={steps}')
  assert resumed.wait(timeout=600) == 0, open(f'{stopped}.log').read()[-3000:]
  assert f'from step {step}.' in open(f'{stopped}.log').read()
  assert whole.wait(timeout=600) == 0
  assert _read(stopped / 'results.json') == _read(tmp_path / 'whole' / 'results.json')


def _free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def test_two_processes_stop_together_on_a_sigterm_to_one_and_save_once(tmp_path):
  workdir, port, steps = tmp_path / 'two', _free_port(), 300
  env = dict(os.environ, PYTHONPATH=REPO)
  processes = [_start(workdir, f'--config.train.num_steps={steps}', f'--coordinator_address=127.0.0.1:{port}',
                      '--num_processes=2', f'--process_id={i}', env=env) for i in range(2)]
  _wait_for_training(workdir, processes[0])
  processes[1].send_signal(signal.SIGTERM)  # Process 1 only: process 0 learns it through jax's service.
  statuses = [p.wait(timeout=300) for p in processes]
  log = open(f'{workdir}.log').read()
  assert statuses == [128 + signal.SIGTERM] * 2, log[-3000:]
  stops = re.findall(r'stopped by SIGTERM at step (\d+)', log)
  assert len(stops) == 2 and stops[0] == stops[1], log[-3000:]  # Both at the same step ...
  step = int(stops[0])
  assert _saved_steps(workdir)[-1] == step and not (workdir / 'results.json').exists()
  # ... into one checkpoint, which both restore.
  port = _free_port()
  resumed = [_start(workdir, f'--config.train.num_steps={steps}', f'--coordinator_address=127.0.0.1:{port}',
                    '--num_processes=2', f'--process_id={i}', env=env) for i in range(2)]
  assert [p.wait(timeout=600) for p in resumed] == [0, 0], open(f'{workdir}.log').read()[-3000:]
  assert open(f'{workdir}.log').read().count(f'from step {step}.') == 2


@pytest.mark.parametrize('signal_number', preemption.SIGNALS)
def test_each_signal_is_recorded_not_fatal_while_watched_and_the_handlers_come_back(signal_number):
  before = signal.getsignal(signal_number)
  with preemption.Watch() as watch:
    assert not watch.stop_requested(0)
    os.kill(os.getpid(), signal_number)
    time.sleep(0.01)  # Python runs the handler between bytecodes.
    assert watch.stop_requested(1) and watch.signal_number == signal_number
    if signal_number == signal.SIGINT:
      with pytest.raises(KeyboardInterrupt):  # A second Ctrl-C does not wait for the checkpoint.
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
  assert signal.getsignal(signal_number) == before
  assert preemption.Preempted(7, signal_number).exit_status == 128 + signal_number
