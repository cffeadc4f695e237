"""Draws the attention of one head of a trained Transformer LM on a line of text.

  python show_attention.py --workdir=runs/charlm_gpt --text="ROMEO: But soft, what light" \
      --layer=0 --head=0 --out=docs/attention.png

Every query row of the picture sums to 1 over the keys it may see (the causal mask hides the rest).
"""
from absl import app
from absl import flags
from absl import logging
import jax.numpy as jnp
import numpy as np

from models import transformer
from training import cli
from training import errors
from training import plots
from training import restore

flags.DEFINE_string('workdir', None, 'A Transformer LM workdir written by train.py.')
flags.DEFINE_string('text', 'ROMEO:\nBut soft, what light', 'The line to encode (cut to the model context).')
flags.DEFINE_integer('layer', 0, 'Block, from 0.', lower_bound=0)
flags.DEFINE_integer('head', 0, 'Head, from 0.', lower_bound=0)
flags.DEFINE_string('out', 'attention.png', 'Where the PNG goes.')
flags.mark_flags_as_required(['workdir'])
FLAGS = flags.FLAGS


def head_weights(model, params, tokens_T: np.ndarray, layer: int, head: int) -> np.ndarray:
  """(T, T) attention weights of one head on one sequence, from the weights the model sows."""
  _, state = model.apply({'params': params}, jnp.asarray(tokens_T[None]), model.initial_carry(1),
                         mutable=['intermediates'])
  blocks = state['intermediates']
  name = f'block_{layer}'
  if name not in blocks:
    raise errors.UserError(f'--layer={layer}: the model has blocks 0..{len(blocks) - 1}.')
  weights_BNTS = blocks[name]['attention']['attention_weights'][0]
  if head >= weights_BNTS.shape[1]:
    raise errors.UserError(f'--head={head}: the model has heads 0..{weights_BNTS.shape[1] - 1}.')
  return np.asarray(weights_BNTS[0, head])


def main(argv):
  if len(argv) > 1:
    cli.fail(f'unexpected arguments {argv[1:]}; flags look like --name=value.')
  logging.set_verbosity(logging.WARNING)
  model, params, tokenizer, step = cli.run(restore.load_lm, FLAGS.workdir)
  if not isinstance(model, transformer.GPT):
    cli.fail(f'{FLAGS.workdir!r} holds a {type(model).__name__}, which has no attention to show.')
  tokens = np.asarray(tokenizer.encode(FLAGS.text))[:model.max_len]
  if len(tokens) == 0:
    cli.fail('--text encodes to no tokens.')
  weights_TT = cli.run(head_weights, model, params, tokens, FLAGS.layer, FLAGS.head)
  labels = [tokenizer.decode([int(t)]) for t in tokens]
  plots.plot_attention(weights_TT, labels, f'layer {FLAGS.layer}, head {FLAGS.head} (step {step})', FLAGS.out)
  print(f'wrote {FLAGS.out}')


if __name__ == '__main__':
  app.run(main)
