"""Samples text from a trained language-model workdir, streaming it to stdout.

  python sample.py --workdir=runs/charlm_lstm --prompt="ROMEO:" --num_tokens=500 \
      --temperature=0.8 [--top_k=K] [--top_p=P] [--seed=S]

Temperature 0 is greedy decoding. Uses the workdir's latest checkpoint and its saved tokenizer.
"""
import sys

from absl import app
from absl import flags
from absl import logging
import jax
import numpy as np

from tasks import sampling
from training import cli
from training import restore

flags.DEFINE_string('workdir', None, 'A language-model workdir written by train.py.')
flags.DEFINE_string('prompt', '\n', 'Text the sample continues.')
flags.DEFINE_integer('num_tokens', 500, 'Tokens to generate.', lower_bound=1)
flags.DEFINE_float('temperature', 1.0, 'Softmax temperature; 0 = greedy.', lower_bound=0.0)
flags.DEFINE_integer('top_k', 0, 'Sample among the k most likely tokens; 0 = all.', lower_bound=0)
flags.DEFINE_float('top_p', 1.0, 'Sample from the smallest set with this much probability.', lower_bound=0.0,
                   upper_bound=1.0)
flags.DEFINE_integer('seed', 0, 'Seed of the draws.')
flags.mark_flags_as_required(['workdir'])
FLAGS = flags.FLAGS


class _Streamer:
  """Prints the text each new token adds (decoding the whole tail keeps subword spacing right)."""

  def __init__(self, tokenizer):
    self.tokenizer, self.ids, self.printed = tokenizer, [], ''

  def __call__(self, token_B):
    self.ids.append(int(np.asarray(token_B)[0]))
    text = self.tokenizer.decode(self.ids)
    sys.stdout.write(text[len(self.printed):])
    sys.stdout.flush()
    self.printed = text


def main(argv):
  if len(argv) > 1:
    cli.fail(f'unexpected arguments {argv[1:]}; flags look like --name=value.')
  logging.set_verbosity(logging.WARNING)
  model, params, tokenizer, step = cli.run(restore.load_lm, FLAGS.workdir)
  prompt = tokenizer.encode(FLAGS.prompt)
  if len(prompt) == 0:
    cli.fail('the prompt encodes to no tokens; give --prompt some text.')
  print(f'[step {step}] ' + FLAGS.prompt, end='', flush=True)
  decoder = model.decoder()
  apply_fn = lambda p, tokens, carry: decoder.apply({'params': p}, tokens, carry)
  tokens = sampling.generate(
      apply_fn, params, jax.numpy.asarray(prompt[None]), decoder.initial_carry(1), jax.random.PRNGKey(FLAGS.seed),
      num_tokens=FLAGS.num_tokens, temperature=FLAGS.temperature, top_k=FLAGS.top_k, top_p=FLAGS.top_p,
      on_token=_Streamer(tokenizer))
  jax.block_until_ready(tokens)
  print()


if __name__ == '__main__':
  app.run(main)
