"""Sharded training equals single-device training: meshes, rules, checkpoints across meshes, two processes.

XLA fixes the number of CPU devices when jax starts, so the checks run in
child processes started with 8 simulated devices (`python tests/test_sharding.py
MODE ...` runs one and prints JSON); the assertions stay in this process.
"""
import json
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests import tolerances

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MESHES = ((8, 1, 1), (2, 4, 1), (2, 1, 4), (1, 8, 1))
STEPS = 20


def write_corpus(data_dir: str) -> None:
  """A made-up 6000-character text in place of Tiny Shakespeare, so the test needs no data set."""
  words = 'the king and queen of a far land spoke to their people with kind words at dawn'.split()
  rng = np.random.default_rng(0)
  lines = [' '.join(rng.choice(words, size=rng.integers(4, 10))).capitalize() + '.' for _ in range(160)]
  os.makedirs(os.path.join(data_dir, 'tinyshakespeare'), exist_ok=True)
  with open(os.path.join(data_dir, 'tinyshakespeare', 'input.txt'), 'w') as f:
    f.write('\n'.join(lines)[:6000])


def lm_overrides(model: str, data_dir: str, mesh=(1, 1, 1), steps: int = STEPS) -> dict:
  """Tiny GPT / LSTM LM runs (one block / one layer: compiling 8-device programs dominates the test's
  time) whose batch (8) divides over 8 devices and heads (4) over model=4."""
  overrides = {'data.dir': data_dir, 'data.max_chars': 0, 'train.batch_size': 8, 'eval.batch_size': 8,
               'train.num_steps': steps, 'log.every_steps': 1, 'log.progress_bar': False,
               'checkpoint.every_steps': 10, 'checkpoint.max_to_keep': 5, 'eval.every_steps': 1000,
               'eval.splits': 'valid',
               'mesh.data': mesh[0], 'mesh.fsdp': mesh[1], 'mesh.model': mesh[2]}
  if model == 'gpt':
    overrides.update({'model.width': 32, 'model.num_heads': 4, 'model.depth': 1})
  else:
    overrides['model.hidden_sizes'] = (16,)
  return overrides


def config_spec(model: str) -> str:
  return f'configs/charlm/{model}.py:tiny'


def training_rel(model: str, steps: int = STEPS) -> float:
  """The relative tolerance between two runs of `steps` training steps that differ only in how their sums are
  split over devices (and so in their order): a logged number carries the rounding of every step so far,
  forward and backward through a token's path (16 tokens; the GPT's one block of width 32 or the LSTM's
  layer of 16 over E = 8; a softmax over about 30 characters) and the gradient's sum over the batch's 8 · 16
  tokens."""
  if model == 'gpt':
    path = tolerances.transformer_terms(32, 1, 16, 4, 4)
  else:
    path = 16 * (8 + 4 * 16) + 16 + 30
  return tolerances.rel(steps * 2 * (path + 8 * 16))


def _train(model, data_dir, workdir, mesh, steps=STEPS):
  from training import config_loading
  from training import loop
  config = config_loading.apply_overrides(config_loading.load_config(config_spec(model)),
                                          lm_overrides(model, data_dir, mesh, steps))
  results = loop.train_and_evaluate(config, workdir)
  return config, results


def train_losses(workdir: str) -> list:
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    records = [json.loads(line) for line in f]
  return [r['loss'] for r in records if r['split'] == 'train']


def _sharded_losses_and_shards(model, data_dir, workdir, mesh) -> dict:
  """Losses of STEPS training steps on `mesh` (the loop's own state creation and step), and the shard
  shape of every parameter, Adam first moment and carry array as created."""
  import jax
  from flax import traverse_util
  import models
  import tasks
  from training import config_loading, loop, optim, sharding
  config = config_loading.apply_overrides(config_loading.load_config(config_spec(model)),
                                          lm_overrides(model, data_dir, mesh))
  config_loading.validate(config)
  task = tasks.build(config, workdir)
  lm_model = models.build(config.model, **task.model_dims)
  tx = optim.build_optimizer(config, STEPS, 1)
  schedule = optim.build_schedule(config, STEPS, 1)
  device_mesh = sharding.build_mesh(config.mesh)
  state, state_sharding = loop.create_train_state(config, task, lm_model, tx, device_mesh)
  shapes = lambda tree: {path: [list(x.shape), list(x.sharding.shard_shape(x.shape))]
                         for path, x in traverse_util.flatten_dict(tree, sep='/').items()}
  mu = next(s.mu for s in jax.tree.leaves(state.opt_state, is_leaf=lambda s: hasattr(s, 'mu')) if hasattr(s, 'mu'))
  out = {'params': shapes(state.params), 'mu': shapes(mu),
         'carry': [[list(c.shape), list(c.sharding.shard_shape(c.shape))] for c in jax.tree.leaves(state.carry)]}
  train_steps = loop.compile_train_steps(lm_model, task, tx, schedule, state_sharding, device_mesh)
  batcher, losses = task.train_batcher(config.train.batch_size, config.seed), []
  for _ in range(STEPS):
    state, (metrics, _) = train_steps(state, loop.put_steps([next(batcher)], device_mesh))
    losses.append(float(jax.device_get(metrics['loss'][0])[0]))
  out['losses'] = losses
  return out


def child_main(mode: str, model: str, root: str, data_dir: str) -> dict:
  """Runs in a process with 8 CPU devices; returns what the parent checks."""
  if mode == 'meshes':
    return {'x'.join(map(str, mesh)): _sharded_losses_and_shards(model, data_dir, os.path.join(root, str(i)), mesh)
            for i, mesh in enumerate(((1, 1, 1),) + MESHES)}
  if mode == 'remesh':
    full = os.path.join(root, 'full')
    _, results = _train(model, data_dir, full, (8, 1, 1))
    cut = os.path.join(root, 'cut')  # The same run as if killed after its step-10 checkpoint ...
    shutil.copytree(full, cut)
    shutil.rmtree(os.path.join(cut, 'checkpoints', str(STEPS)))
    os.remove(os.path.join(cut, 'results.json'))
    _, resumed = _train(model, data_dir, cut, (2, 1, 1))  # ... resumed on 2 devices.
    return {'full': results, 'resumed': resumed, 'full_losses': train_losses(full), 'resumed_losses': train_losses(cut)}
  if mode == 'errors':
    from training import config_loading
    errors = {}
    cases = {'batch': {'train.batch_size': 12, 'mesh.data': -1}, 'heads': {'mesh.data': 2, 'mesh.model': 4, 'model.num_heads': 2},
             'too_many': {'mesh.data': 4, 'mesh.fsdp': 4}, 'rule': {'mesh.rules': (('kernel', 'fsdp,tensor'),)}}
    for name, overrides in cases.items():
      config = config_loading.apply_overrides(config_loading.load_config(config_spec('gpt')),
                                              dict(lm_overrides('gpt', data_dir), **overrides))
      try:
        config_loading.validate(config)
        errors[name] = None
      except config_loading.ConfigError as e:
        errors[name] = str(e)
    return errors
  raise ValueError(mode)


def run_child(mode: str, model: str, root, data_dir) -> dict:
  flags = os.environ.get('XLA_FLAGS', '') + ' --xla_force_host_platform_device_count=8'
  env = dict(os.environ, XLA_FLAGS=flags.strip(), JAX_PLATFORMS='cpu', PYTHONPATH=REPO)
  proc = subprocess.run([sys.executable, __file__, mode, model, str(root), str(data_dir)], env=env, cwd=REPO,
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return json.loads(proc.stdout.strip().splitlines()[-1])


def expected_shard(path: str, shape: list, mesh: tuple) -> list:
  """What the default rules promise, written out per parameter (independently of training.sharding)."""
  data, fsdp, model = mesh
  fit = lambda dim, ways: dim // ways if dim % ways == 0 else dim
  if path.endswith(('attention/query/kernel', 'attention/key/kernel', 'attention/value/kernel')):
    return [fit(shape[0], fsdp), fit(shape[1], model), shape[2]]
  if path.endswith('attention/out/kernel'):
    return [fit(shape[0], model), shape[1], fit(shape[2], fsdp)]
  if path.endswith('mlp/fc/kernel'):
    return [fit(shape[0], fsdp), fit(shape[1], model)]
  if path.endswith('mlp/proj/kernel'):
    return [fit(shape[0], model), fit(shape[1], fsdp)]
  if path.endswith('embed/embedding'):
    return [shape[0], fit(shape[1], fsdp)]
  if path.endswith('softmax/kernel'):
    return [fit(shape[0], fsdp), shape[1]]
  return list(shape)


@pytest.fixture(scope='module')
def root(tmp_path_factory):
  root = tmp_path_factory.mktemp('sharding')
  write_corpus(str(root / 'data'))
  return root


@pytest.mark.parametrize('model', ['gpt', 'lstm'])
def test_every_mesh_trains_like_one_device_and_shards_as_the_rules_say(root, model):
  out = run_child('meshes', model, root / model, root / 'data')
  reference = np.array(out['1x1x1']['losses'])
  assert len(reference) == STEPS and reference[-1] < reference[0]
  for mesh in MESHES:
    name = 'x'.join(map(str, mesh))
    np.testing.assert_allclose(out[name]['losses'], reference, rtol=training_rel(model), err_msg=f'mesh {name}')
    shards = out[name]
    for path, (shape, shard) in shards['params'].items():
      assert shard == expected_shard(path, shape, mesh), (name, path)
      assert shards['mu'][path] == [shape, shard], (name, path)  # Adam's moments live with their parameter.
    for shape, shard in shards['carry']:  # Recurrent state rows follow the batch.
      assert shard == [shape[0] // (mesh[0] * mesh[1])] + shape[1:]
  really_split = [p for p, (shape, shard) in out['2x4x1']['params'].items() if shape != shard]
  assert len(really_split) >= (8 if model == 'gpt' else 2), really_split


def test_checkpoint_saved_on_8_devices_resumes_on_2(root):
  out = run_child('remesh', 'gpt', root / 'remesh', root / 'data')
  np.testing.assert_allclose(out['resumed_losses'], out['full_losses'], rtol=training_rel('gpt'))
  assert out['resumed'].keys() == out['full'].keys()
  for key, value in out['full'].items():
    assert out['resumed'][key] == pytest.approx(value, rel=training_rel('gpt')), key


def test_mesh_errors_name_the_problem_before_compiling(root):
  errors = run_child('errors', 'gpt', root / 'errors', root / 'data')
  assert 'train.batch_size 12 does not divide over the 8 data-parallel devices' in errors['batch']
  assert 'model.num_heads 2 does not divide over mesh.model 4' in errors['heads']
  assert 'needs 16 devices; there are 8' in errors['too_many']
  assert "unknown mesh axis 'tensor'" in errors['rule']


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def test_two_processes_train_like_one(root):
  """jax.distributed on CPU: two processes of one device each, coordinator on 127.0.0.1."""
  data_dir = str(root / 'data')
  base = [f'--config={config_spec("gpt")}'] + [
      f'--config.{k}={v}' for k, v in lm_overrides('gpt', data_dir, (-1, 1, 1), steps=10).items()]
  _train('gpt', data_dir, str(root / 'one'), (-1, 1, 1), steps=10)  # This process has one device.
  env = dict(os.environ, JAX_PLATFORMS='cpu', PYTHONPATH=REPO)  # One device per process.
  port = _free_port()
  procs = [subprocess.Popen([sys.executable, 'train.py', f'--workdir={root / "two"}', f'--coordinator_address=127.0.0.1:{port}',
                             '--num_processes=2', f'--process_id={i}'] + base, env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
  for proc in procs:
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-3000:]
  np.testing.assert_allclose(train_losses(str(root / 'two')), train_losses(str(root / 'one')),
                             rtol=training_rel('gpt', steps=10))
  with open(root / 'two' / 'config.json') as f:
    assert json.load(f)['mesh']['data'] == -1
  assert json.load(open(root / 'two' / 'results.json')).keys() == json.load(open(root / 'one' / 'results.json')).keys()


if __name__ == '__main__':
  print(json.dumps(child_main(*sys.argv[1:])))
