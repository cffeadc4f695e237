"""Kills a training run with SIGKILL at random moments, resumes it each time, and compares
its results.json with an uninterrupted run of the same config.

  python bench/kill_resume.py --config=configs/timeseries/deep_rnn_dense.py --kills=5 --workdir=runs/kill_resume

Prints one line per kill (the latest checkpoint it left) and a verdict; exits 1 on a mismatch.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

from absl import app
from absl import flags

flags.DEFINE_string('config', 'configs/timeseries/deep_rnn_dense.py', 'Config to run.')
flags.DEFINE_string('workdir', 'runs/kill_resume', 'Scratch directory (emptied first).')
flags.DEFINE_integer('kills', 5, 'How many times to kill the resumed run.')
flags.DEFINE_float('max_delay', 8.0, 'Each kill comes after a uniform random delay up to this (s).')
flags.DEFINE_integer('seed', 0, 'Seed of the kill times.')
FLAGS = flags.FLAGS
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _command(workdir):
  return [sys.executable, os.path.join(REPO, 'train.py'), f'--config={FLAGS.config}', f'--workdir={workdir}']


def _latest(workdir):
  path = os.path.join(workdir, 'checkpoints')
  steps = [int(d) for d in os.listdir(path) if d.isdigit()] if os.path.isdir(path) else []
  return max(steps, default=None)


def main(argv):
  del argv
  shutil.rmtree(FLAGS.workdir, ignore_errors=True)
  whole, killed = os.path.join(FLAGS.workdir, 'whole'), os.path.join(FLAGS.workdir, 'killed')
  rng = random.Random(FLAGS.seed)
  quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
  for i in range(FLAGS.kills):
    process = subprocess.Popen(_command(killed), **quiet)
    delay = rng.uniform(0, FLAGS.max_delay)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    print(f'kill {i + 1}: after {delay:.2f} s, latest checkpoint step {_latest(killed)}, '
          f'finished: {os.path.exists(os.path.join(killed, "results.json"))}', flush=True)
  subprocess.run(_command(killed), check=True, **quiet)
  subprocess.run(_command(whole), check=True, **quiet)
  results = []
  for workdir in (killed, whole):
    with open(os.path.join(workdir, 'results.json')) as f:
      results.append(json.load(f))
  print('killed-and-resumed:', results[0])
  print('uninterrupted:     ', results[1])
  print('EQUAL' if results[0] == results[1] else 'DIFFERENT')
  sys.exit(0 if results[0] == results[1] else 1)


if __name__ == '__main__':
  app.run(main)
