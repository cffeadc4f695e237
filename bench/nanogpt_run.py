"""The whole baby-GPT run of configs/charlm/gpt.py against nanoGPT's own train.py on the same machine.

  git clone https://github.com/karpathy/nanoGPT runs/peers/nanoGPT
  cp $SEQLAB_DATA_DIR/<tiny shakespeare>.txt runs/peers/nanoGPT/data/shakespeare_char/input.txt
  (cd runs/peers/nanoGPT/data/shakespeare_char && python prepare.py)
  SEQLAB_DATA_DIR=../shared/data python bench/nanogpt_run.py [--rounds=3] [--nanogpt_dir=runs/peers/nanoGPT]

Both train the README's CPU recipe (4 layers, 4 heads, width 128, context 64, batch 12, 2000 steps, no
dropout) from a fresh process to the end: imports, data, compilation, training, evaluation and
checkpoints all count. nanoGPT's evaluation budget is eval_iters=20 batches of 12 windows of each of
train and val every 250 steps; seqlab evaluates the same number of windows (40 batches of 12 of the
validation text) every 250 steps. The rounds alternate (seqlab, then nanoGPT) so that a noisy machine
hurts both alike; the medians of wall-clock time and each process's peak resident set are compared.
The last lines are `time_ratio=` (seqlab's seconds / nanoGPT's; the target is <= 1.0) and
`memory_ratio=` (seqlab's peak / nanoGPT's; the target is <= 1.5).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from bench import host  # noqa: E402

flags.DEFINE_integer('rounds', 3, 'Alternating rounds (each: one seqlab run and one nanoGPT run).')
flags.DEFINE_integer('max_iters', 2000, 'Training steps of each run (nanoGPT\'s --max_iters).')
flags.DEFINE_string('nanogpt_dir', os.path.join(ROOT, 'runs', 'peers', 'nanoGPT'),
                    'A clone of github.com/karpathy/nanoGPT with data/shakespeare_char prepared.')
flags.DEFINE_string('config', 'configs/charlm/gpt.py', 'The seqlab config of the baby GPT.')
FLAGS = flags.FLAGS

EVAL_ITERS = 20  # nanoGPT's README command for the CPU.
BATCH = 12


def _timed(cmd, cwd, env, log_path):
  """Wall-clock seconds and peak resident set (MiB) of one child process, its output kept in log_path."""
  with open(log_path, 'w') as log:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)  # Reaped here, so Popen never waits on it.
    seconds = time.perf_counter() - start
  code = os.waitstatus_to_exitcode(status)
  if code != 0:
    with open(log_path) as f:
      raise RuntimeError(f'{cmd[1]} failed ({code}):\n{f.read()[-3000:]}')
  return seconds, usage.ru_maxrss / 1024  # Linux reports kilobytes.


def run_seqlab(workdir: str) -> dict:
  cmd = [sys.executable, os.path.join(ROOT, 'train.py'), f'--config={os.path.join(ROOT, FLAGS.config)}',
         f'--workdir={workdir}', f'--config.train.num_steps={FLAGS.max_iters}',
         f'--config.eval.batch_size={BATCH}', f'--config.eval.num_batches={2 * EVAL_ITERS}']
  env = dict(os.environ)
  env.pop('JAX_COMPILATION_CACHE_DIR', None)  # A first run compiles, as nanoGPT's first run would.
  seconds, peak = _timed(cmd, ROOT, env, workdir + '.log')
  with open(os.path.join(workdir, 'results.json')) as f:
    return {'seconds': seconds, 'peak_mib': peak, 'valid_loss': json.load(f)['valid/loss']}


def run_nanogpt(out_dir: str) -> dict:
  cmd = [sys.executable, 'train.py', 'config/train_shakespeare_char.py', '--device=cpu', '--compile=False',
         f'--eval_iters={EVAL_ITERS}', '--log_interval=1', '--block_size=64', f'--batch_size={BATCH}',
         '--n_layer=4', '--n_head=4', '--n_embd=128', f'--max_iters={FLAGS.max_iters}',
         f'--lr_decay_iters={FLAGS.max_iters}', '--dropout=0.0', f'--out_dir={out_dir}', '--wandb_log=False']
  log_path = out_dir + '.log'
  seconds, peak = _timed(cmd, FLAGS.nanogpt_dir, dict(os.environ), log_path)
  with open(log_path) as f:
    losses = re.findall(r'^step \d+: train loss [\d.]+, val loss ([\d.]+)', f.read(), re.M)
  return {'seconds': seconds, 'peak_mib': peak, 'valid_loss': float(losses[-1])}


def _check_peer():
  needed = ['train.py', 'model.py', 'configurator.py', 'config/train_shakespeare_char.py',
            'data/shakespeare_char/train.bin', 'data/shakespeare_char/val.bin', 'data/shakespeare_char/meta.pkl']
  missing = [p for p in needed if not os.path.exists(os.path.join(FLAGS.nanogpt_dir, p))]
  if missing:
    sys.exit(f'error: --nanogpt_dir={FLAGS.nanogpt_dir} lacks {", ".join(missing)}; clone nanoGPT there and run '
             'its data/shakespeare_char/prepare.py (this file\'s docstring says how)')


def main(argv):
  del argv
  _check_peer()
  if not os.environ.get('SEQLAB_DATA_DIR'):
    sys.exit('error: set SEQLAB_DATA_DIR to the folder holding Tiny Shakespeare')
  print(f'{host.processor_name() or "unknown processor"}, {os.cpu_count()} CPUs; {FLAGS.max_iters} steps a run, '
        f'{FLAGS.rounds} rounds', flush=True)
  results = {'seqlab': [], 'nanoGPT': []}
  with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, 'runs') if os.path.isdir(os.path.join(ROOT, 'runs'))
                                   else None) as tmp:
    for r in range(FLAGS.rounds):
      results['seqlab'].append(run_seqlab(os.path.join(tmp, f'seqlab_{r}')))
      results['nanoGPT'].append(run_nanogpt(os.path.join(tmp, f'nanogpt_{r}')))
      print(f'round {r + 1}: ' + ', '.join(
          f'{p} {x[-1]["seconds"]:.1f} s, {x[-1]["peak_mib"]:.0f} MiB, valid loss {x[-1]["valid_loss"]:.4f}'
          for p, x in results.items()), flush=True)
  median = host.medians(results, ('seconds', 'peak_mib', 'valid_loss'))
  print('| run | wall time (s) | peak memory (MiB) | final valid loss |')
  print('| --- | --- | --- | --- |')
  for p, m in median.items():
    print(f'| {p} | {m["seconds"]:.1f} | {m["peak_mib"]:.0f} | {m["valid_loss"]:.4f} |')
  print(f'time_ratio={median["seqlab"]["seconds"] / median["nanoGPT"]["seconds"]:.2f}')
  print(f'memory_ratio={median["seqlab"]["peak_mib"] / median["nanoGPT"]["peak_mib"]:.2f}')


if __name__ == '__main__':
  app.run(main)
