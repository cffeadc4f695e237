"""Classifier inference speed: sentences per second of trained classification workdirs on a split of their
data, batched as classify.py batches (length-sorted, --batch_size), after compilation.

  python bench/inference_speed.py --workdirs=runs/ablate/distillation/teacher/seed_0,... [--split=test]

For each workdir: its parameter count, the compile time of the first pass (every padded shape of the split),
then the median over --rounds passes of sentences/s (encoding included, as a user of classify.py pays it).
Prints a Markdown table and writes it as JSON with --out. The distillation sweep's "≥ 10× more
sentences/s than the teacher" is read from here, on one machine in one process.
"""
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from absl import logging  # noqa: E402
import jax  # noqa: E402

from bench import host  # noqa: E402
from data import labeled  # noqa: E402
from tasks import classification  # noqa: E402
from training import errors  # noqa: E402
from training import restore  # noqa: E402


def measure(workdir: str, split: str, batch_size: int, rounds: int) -> dict:
  """{'params', 'sentences', 'compile_s', 'sentences_per_s'} of one workdir on its data's `split`."""
  config, model, params, vocab, _ = restore.load_classifier(workdir)
  splits, _ = labeled.load_labeled(config.data)
  texts = splits[split][0]

  def one_pass():
    ids = classification.encode_as_read(config.data, vocab, texts)
    return classification.predict_rows(model, params, ids, batch_size, config.data, softmax=True)
  start = time.perf_counter()
  one_pass()  # Compiles every padded shape of the split.
  compile_s = time.perf_counter() - start
  seconds = []
  for _ in range(rounds):
    start = time.perf_counter()
    one_pass()
    seconds.append(time.perf_counter() - start)
  return {'params': int(sum(p.size for p in jax.tree.leaves(params))), 'sentences': len(texts),
          'compile_s': compile_s, 'sentences_per_s': len(texts) / statistics.median(seconds)}


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  workdirs = [w for w in FLAGS.workdirs.split(',') if w]
  if not workdirs:
    raise errors.WorkdirError('--workdirs names no run.')
  results = {w: measure(w, FLAGS.split, FLAGS.batch_size, FLAGS.rounds) for w in workdirs}
  print(f'{host.processor_name() or "this host"}, {jax.default_backend()}, batch {FLAGS.batch_size}, '
        f'split {FLAGS.split}, median of {FLAGS.rounds} passes')
  print('| workdir | params | sentences | compile s | sentences/s |\n| --- | --- | --- | --- | --- |')
  for workdir, r in results.items():
    print(f'| {workdir} | {r["params"]:,} | {r["sentences"]} | {r["compile_s"]:.1f} | {r["sentences_per_s"]:.0f} |')
  if FLAGS.out:
    with open(FLAGS.out, 'w') as f:
      json.dump(results, f, indent=1)


if __name__ == '__main__':
  flags.DEFINE_string('workdirs', '', 'Comma-separated trained classification workdirs.')
  flags.DEFINE_enum('split', 'test', ['train', 'valid', 'test'], 'The split whose sentences are classified.')
  flags.DEFINE_integer('batch_size', 256, 'Sentences per batch.', lower_bound=1)
  flags.DEFINE_integer('rounds', 3, 'Timed passes; the median is reported.', lower_bound=1)
  flags.DEFINE_string('out', '', 'Write the numbers here as JSON too.')
  FLAGS = flags.FLAGS

  def run(argv):
    try:
      main(argv)
    except (errors.WorkdirError, FileNotFoundError, ValueError) as e:
      print(f'error: {e}', file=sys.stderr)
      sys.exit(2)
  app.run(run)
