"""Translates sentences with a trained translation workdir: one per line, from a file or stdin.

  echo "Ein Mann fährt Fahrrad." | python translate.py --workdir=runs/mt/transformer
  python translate.py --workdir=runs/mt/attention --input=sentences.de --beam_size=5 \
      --plot_attention=attention.png

Prints one translation per input line, in order. --plot_attention draws the
cross-attention map of the first sentence (source tokens across, target down).
Uses the workdir's latest checkpoint and its saved vocabularies.
"""
import sys

from absl import app
from absl import flags
from absl import logging
import jax.numpy as jnp
import numpy as np

from data import parallel
from models import seq2seq
from tasks import translation
from training import cli
from training import plots
from training import restore

flags.DEFINE_string('workdir', None, 'A translation workdir written by train.py.')
flags.DEFINE_string('input', None, 'File of source sentences, one per line; default: stdin.')
flags.DEFINE_integer('beam_size', None, 'Beam size; 1 = greedy. Default: the config\'s decode.beam_size.',
                     lower_bound=1)
flags.DEFINE_float('length_penalty', None, 'GNMT alpha. Default: the config\'s decode.length_penalty.')
flags.DEFINE_integer('batch_size', 64, 'Sentences decoded at once.', lower_bound=1)
flags.DEFINE_string('plot_attention', None, 'Write the cross-attention map of the first sentence to this PNG.')
flags.mark_flags_as_required(['workdir'])
FLAGS = flags.FLAGS


def plot_first(model, params, src_vocab, tgt_vocab, line: str, target_ids, path: str) -> None:
  src_S = src_vocab.encode(line)
  tgt_in_T = np.concatenate([[parallel.BOS_ID], target_ids]).astype(np.int32)
  weights_BTS = seq2seq.cross_attention_map(model, params, jnp.asarray(src_S[None]), jnp.asarray([len(src_S)]),
                                            jnp.asarray(tgt_in_T[None]))
  # Row t is the query that predicts target token t (read after tokens < t).
  weights_TS = np.asarray(weights_BTS[0])
  target = [tgt_vocab.decode([i]) or '·' for i in target_ids] + ['</s>']
  source = [src_vocab.decode([i]) or '·' for i in src_S]
  plots.plot_attention(weights_TS, target, f'cross-attention: {line}', path, key_labels=source,
                       axis_names=('target token', 'source token'))


def main(argv):
  if len(argv) > 1:
    cli.fail(f'unexpected arguments {argv[1:]}; flags look like --name=value.')
  logging.set_verbosity(logging.WARNING)
  config, model, params, src_vocab, tgt_vocab, step = cli.run(restore.load_translator, FLAGS.workdir)
  lines = cli.run(cli.read_lines, FLAGS.input, sys.stdin.buffer)
  if not lines:
    cli.fail('no sentences to translate (empty input).')
  beam_size = FLAGS.beam_size or config.decode.beam_size
  length_penalty = config.decode.length_penalty if FLAGS.length_penalty is None else FLAGS.length_penalty
  config.decode.length_penalty = length_penalty
  decoder = translation.make_decoder(model, beam_size, config.decode)
  outputs = [ids[ids != parallel.EOS_ID] for ids in translation.translate_ids(
      decoder, params, [src_vocab.encode(line) for line in lines], FLAGS.batch_size, config.data.pad_multiple,
      config.decode.max_len)]
  for ids in outputs:
    print(tgt_vocab.decode(ids))
  if FLAGS.plot_attention:
    cli.run(plot_first, model, params, src_vocab, tgt_vocab, lines[0], outputs[0], FLAGS.plot_attention)
    print(f'[step {step}] cross-attention of the first sentence: {FLAGS.plot_attention}', file=sys.stderr)


if __name__ == '__main__':
  app.run(main)
