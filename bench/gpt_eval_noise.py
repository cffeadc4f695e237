"""How noisy nanoGPT's validation estimate is, measured on trained seqlab GPT workdirs.

  SEQLAB_DATA_DIR=../shared/data python bench/gpt_eval_noise.py --workdirs=runs/charlm_gpt_s0,runs/charlm_gpt_s1

nanoGPT's train.py reports estimate_loss(): the mean loss of eval_iters batches of random windows of the
validation text (its CPU recipe: 20 batches of 12 windows of 64). seqlab's valid/loss is the loss over the
whole validation split. For each workdir this draws --draws such estimates from the same model and prints
their spread beside the whole-split loss, and the share of estimates at or below --reference.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from absl import logging  # noqa: E402
import jax  # noqa: E402
import ml_collections  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from data import corpus  # noqa: E402
from training import restore  # noqa: E402

flags.DEFINE_list('workdirs', None, 'Trained configs/charlm/gpt.py workdirs.')
flags.DEFINE_integer('draws', 300, 'Estimates drawn per workdir.')
flags.DEFINE_integer('eval_iters', 20, 'Batches per estimate (nanoGPT\'s --eval_iters).')
flags.DEFINE_integer('batch_size', 12, 'Windows per batch.')
flags.DEFINE_float('reference', 1.886, 'A single estimate to place in the distribution (nanoGPT\'s run).')
flags.mark_flag_as_required('workdirs')
FLAGS = flags.FLAGS


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every restore at INFO.
  rng = np.random.RandomState(0)
  for workdir in FLAGS.workdirs:
    model, params, tokenizer, _ = restore.load_lm(workdir)
    with open(os.path.join(workdir, 'config.json')) as f:
      config = ml_collections.ConfigDict(json.load(f))
    config.data.dir = config.data.dir or os.environ.get('SEQLAB_DATA_DIR', '')
    valid = np.asarray(tokenizer.encode(corpus.load_corpus(config.data)['valid']))
    T = config.data.seq_len

    @jax.jit
    def batch_loss(inputs, targets):
      logits, _ = model.apply({'params': params}, inputs, ())
      return optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()

    estimates = []
    for _ in range(FLAGS.draws):
      losses = []
      for _ in range(FLAGS.eval_iters):
        starts = rng.randint(0, len(valid) - T, FLAGS.batch_size)  # As nanoGPT's get_batch draws them.
        inputs = np.stack([valid[i:i + T] for i in starts])
        targets = np.stack([valid[i + 1:i + T + 1] for i in starts])
        losses.append(float(batch_loss(inputs, targets)))
      estimates.append(np.mean(losses))
    estimates = np.array(estimates)
    with open(os.path.join(workdir, 'results.json')) as f:
      whole = json.load(f)['valid/loss']
    print(f'{workdir}: whole-split valid/loss {whole:.4f}; {FLAGS.eval_iters}-batch estimates: mean '
          f'{estimates.mean():.4f}, sd {estimates.std():.4f}, 5-95% [{np.percentile(estimates, 5):.4f}, '
          f'{np.percentile(estimates, 95):.4f}], share <= {FLAGS.reference}: {np.mean(estimates <= FLAGS.reference):.2f}')


if __name__ == '__main__':
  app.run(main)
