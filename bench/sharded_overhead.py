"""Data-parallel training on 8 simulated CPU devices against 1 device: the cost of sharding itself.

  SEQLAB_DATA_DIR=../shared/data python bench/sharded_overhead.py [--steps=100] [--rounds=3]

`--xla_force_host_platform_device_count=8` splits ONE CPU into 8 XLA devices that share its cores, so
this measures only what sharding adds (partitioned programs, per-device dispatch, the gradient
all-reduce through memory); it says nothing about speed-ups on real accelerators. Each row trains the
real step (loop.create_train_state + loop.compile_train_steps, the LM task on Tiny Shakespeare) of the
config with the same global batch, in a fresh subprocess; medians over --rounds.
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

flags.DEFINE_integer('steps', 100, 'Timed steps per subprocess, after one warm-up call.')
flags.DEFINE_integer('rounds', 3, 'Subprocesses per row; the median is reported.')
flags.DEFINE_string('worker', '', 'Internal: CONFIG,BATCH,MESH_DATA to time in this process.')
FLAGS = flags.FLAGS

ROWS = (('configs/charlm/gpt.py', 16), ('configs/charlm/lstm.py', 32))


def run_worker(spec: str) -> dict:
  import jax
  import models
  import tasks
  from training import config_loading, loop, optim, sharding
  path, batch_size, mesh_data = spec.split(',')
  config = config_loading.apply_overrides(config_loading.load_config(os.path.join(ROOT, path)), {
      'train.batch_size': int(batch_size), 'eval.batch_size': int(batch_size), 'mesh.data': int(mesh_data),
      'train.steps_per_call': 1})
  config_loading.validate(config)
  task = tasks.build(config, os.path.join('/tmp', f'seqlab_overhead_{os.getpid()}'))
  model = models.build(config.model, **task.model_dims)
  total = config.train.num_steps
  tx, schedule = optim.build_optimizer(config, total, total), optim.build_schedule(config, total, total)
  mesh = sharding.build_mesh(config.mesh)
  state, state_sharding = loop.create_train_state(config, task, model, tx, mesh)
  steps = loop.compile_train_steps(model, task, tx, schedule, state_sharding, mesh)
  batcher = task.train_batcher(config.train.batch_size, 0)
  batches = [loop.put_steps([next(batcher)], mesh) for _ in range(FLAGS.steps + 1)]
  state, (metrics, _) = steps(state, batches[0])
  jax.block_until_ready(metrics)
  start = time.perf_counter()
  for batch in batches[1:]:
    state, (metrics, _) = steps(state, batch)
  jax.block_until_ready(metrics)
  seconds = time.perf_counter() - start
  tokens = FLAGS.steps * config.train.batch_size * config.data.seq_len
  return {'devices': len(mesh.devices.flat), 'tokens_per_sec': tokens / seconds,
          'ms_per_step': 1e3 * seconds / FLAGS.steps}


def measure(path: str, batch_size: int, devices: int) -> dict:
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  if devices > 1:
    env['XLA_FLAGS'] = f'--xla_force_host_platform_device_count={devices}'
  out = subprocess.run([sys.executable, __file__, f'--worker={path},{batch_size},-1', f'--steps={FLAGS.steps}'],
                       env=env, cwd=ROOT, capture_output=True, text=True, check=True)
  return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv):
  del argv
  if FLAGS.worker:
    print(json.dumps(run_worker(FLAGS.worker)))
    return
  print(f'{os.cpu_count()} CPU cores; median of {FLAGS.rounds} subprocesses, {FLAGS.steps} steps each\n')
  print('| config | global batch | devices | tokens/s | ms/step | vs 1 device |')
  print('| --- | --- | --- | --- | --- | --- |')
  for path, batch_size in ROWS:
    base = None
    for devices in (1, 8):
      runs = [measure(path, batch_size, devices) for _ in range(FLAGS.rounds)]
      tps = statistics.median(r['tokens_per_sec'] for r in runs)
      base = base or tps
      print(f'| {path} | {batch_size} | {devices} | {tps:,.0f} | '
            f'{statistics.median(r["ms_per_step"] for r in runs):.1f} | {tps / base:.2f} |', flush=True)


if __name__ == '__main__':
  app.run(main)
