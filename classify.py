"""Classifies sentences with a trained classification workdir: one per line, from a file or stdin.

  echo "a gorgeous , witty , seductive movie ." | python classify.py --workdir=runs/classify/kim_sst2
  python classify.py --workdir=runs/classify/gpt_sst2 --input=sentences.txt --params=latest

Prints one line per input line, in order (an empty line is an empty sentence, classified too):

  LABEL<TAB>P_0 P_1 ... P_K-1

LABEL is the predicted class id, the most probable; P_k is the probability of class k, with 6 decimals,
separated by single spaces. Each line is read as the text of a training example (the part after its label):
stripped, normalized as the run read its data (data.clean; IMDB's <br /> tags), encoded with the workdir's vocabulary and cut to data.max_len.
--params=best (the default) uses the parameters of the best validation evaluation, which results.json
reports; latest, the latest checkpoint's.
"""
import sys

from absl import app
from absl import flags
from absl import logging
import numpy as np

from tasks import classification
from training import cli
from training import restore

flags.DEFINE_string('workdir', None, 'A classification workdir written by train.py.')
flags.DEFINE_string('input', None, 'File of sentences, one per line; default: stdin.')
flags.DEFINE_integer('batch_size', 64, 'Sentences classified at once.', lower_bound=1)
flags.DEFINE_enum('params', 'best', restore.PARAMS, 'Parameters of the best validation evaluation, or the latest.')
flags.mark_flags_as_required(['workdir'])
FLAGS = flags.FLAGS


def probabilities(model, params, ids: list, batch_size: int, data_config) -> np.ndarray:
  """float32 (R, K): the class probabilities of each sentence, in the order of `ids`, batched as the run's data
  config pads."""
  return classification.predict_rows(model, params, ids, batch_size, data_config, softmax=True)


def format_line(probs_K: np.ndarray) -> str:
  return f'{int(np.argmax(probs_K))}\t' + ' '.join(f'{p:.6f}' for p in probs_K)


def main(argv):
  if len(argv) > 1:
    cli.fail(f'unexpected arguments {argv[1:]}; flags look like --name=value.')
  logging.set_verbosity(logging.WARNING)
  config, model, params, vocab, _ = cli.run(restore.load_classifier, FLAGS.workdir, FLAGS.params)
  lines = cli.run(cli.read_lines, FLAGS.input, sys.stdin.buffer)
  if not lines:
    cli.fail('no sentences to classify (empty input).')
  probs_RK = probabilities(model, params, classification.encode_as_read(config.data, vocab, lines), FLAGS.batch_size,
                           config.data)
  for probs_K in probs_RK:
    print(format_line(probs_K))


if __name__ == '__main__':
  app.run(main)
