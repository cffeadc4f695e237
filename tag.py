"""Tags words with a trained tagging workdir (task 'tag'): UPOS and XPOS for every word.

  echo "The old man the boats ." | python tag.py --workdir=runs/tag/char_bilstm
  python tag.py --workdir=runs/tag/char_bilstm --input=en_ewt-ud-test.conllu --output=pred.conllu

Without --input, stdin holds whitespace-tokenized text, one sentence per line; each line is answered by one
line of WORD/UPOS/XPOS items (an empty line by an empty line). --input=FILE reads a CoNLL-U file (plain or
.gz): its words, as the task reads them (multi-word tokens and empty nodes are not tagged). --output=FILE
writes CoNLL-U: the input's lines and columns as they were, UPOS and XPOS filled with the predictions
(text input: a CoNLL-U sentence per line, the other columns '_'), ready for the CoNLL 2018 UD scorer:

  python conll18_ud_eval.py -v en_ewt-ud-test.conllu pred.conllu
"""
import sys

from absl import app
from absl import flags
from absl import logging
import jax
import numpy as np

from data import conllu
from tasks import tagging
from training import cli
from training import restore

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Only when run as a script: tests import this module beside classify.py, whose flags have the same names."""
  flags.DEFINE_string('workdir', None, 'A tagging workdir written by train.py.')
  flags.DEFINE_string('input', None, 'A CoNLL-U file to tag; default: whitespace-tokenized sentences on stdin.')
  flags.DEFINE_string('output', None, 'Write CoNLL-U here; default: WORD/UPOS/XPOS lines (CoNLL-U for a CoNLL-U '
                      'input) on stdout.')
  flags.DEFINE_integer('batch_size', 64, 'Sentences tagged at once.', lower_bound=1)
  flags.mark_flags_as_required(['workdir'])


def tag_sentences(config, model, params, vocab, chars, tags, sentences: list, batch_size: int) -> tuple:
  """(UPOS, XPOS): a list of tag sequences per sentence, in order."""
  data = conllu.encode(sentences, vocab, chars, {}, {}, set(), config.data.max_word_len,
                       config.data.get('lowercase', False))
  predict = jax.jit(lambda p, batch: tagging.predict(model, p, batch))
  predicted = {name: [None] * len(sentences) for name in tags}
  # The task's evaluation batches: sorted by length (few shapes compile); 'index' -1 marks filler rows.
  for batch in conllu.eval_batches(data, batch_size, config.data.pad_multiple):
    ids = jax.device_get(predict(params, {k: v for k, v in batch.items() if k != 'index'}))
    for row, i in enumerate(batch['index']):
      if i >= 0:
        for name in tags:
          predicted[name][i] = [tags[name][t] for t in np.asarray(ids[name][row, :len(sentences[i].words)])]
  return predicted['upos'], predicted['xpos']


def text_lines(lines: list, sentences: list, upos: list, xpos: list):
  """The answer to each input line: its words as WORD/UPOS/XPOS items, '' for a line without words."""
  tagged = iter(zip(sentences, upos, xpos, strict=True))
  for line in lines:
    if not line.split():
      yield ''
      continue
    sentence, sentence_upos, sentence_xpos = next(tagged)
    yield ' '.join(f'{w}/{u}/{x}' for w, u, x in zip(sentence.words, sentence_upos, sentence_xpos))


def main(argv):
  if len(argv) > 1:
    cli.fail(f'unexpected arguments {argv[1:]}; flags look like --name=value.')
  logging.set_verbosity(logging.WARNING)
  loaded = cli.run(restore.load_tagger, FLAGS.workdir)
  if FLAGS.input:
    sentences = cli.run(conllu.read_conllu, FLAGS.input)
  else:
    lines = cli.run(cli.read_lines, None, sys.stdin.buffer)
    sentences = [conllu.plain_sentence(line.split()) for line in lines if line.split()]
    if not sentences:
      cli.fail('no words to tag (empty input).')
  upos, xpos = tag_sentences(*loaded[:6], sentences, FLAGS.batch_size)
  if FLAGS.output:
    with open(FLAGS.output, 'w', encoding='utf-8') as out:
      conllu.write_conllu(sentences, upos, xpos, out)
  elif FLAGS.input:
    conllu.write_conllu(sentences, upos, xpos, sys.stdout)
  else:
    for line in text_lines(lines, sentences, upos, xpos):
      print(line)


if __name__ == '__main__':
  define_flags()
  app.run(main)
