"""Draws one treebank sentence's tree with each node's sentiment as a trained recursive model predicts it.

  python show_tree.py --workdir=runs/sst/tree_lstm --split=test --index=0 --out=docs/sst_tree.png

Nodes are colored by the predicted class (red negative, blue positive) and ringed in black where the
treebank's label differs; the title gives the sentence and the root's predicted and gold class.
"""
import os

from absl import app
from absl import flags
from absl import logging
import numpy as np

from data import trees
from training import cli
from training import errors
from training import plots
from training import restore

flags.DEFINE_string('workdir', None, 'A tree_classification workdir written by train.py.')
flags.DEFINE_enum('split', 'test', ['train', 'valid', 'test'], 'The treebank split the sentence is from.')
flags.DEFINE_integer('index', 0, 'The sentence\'s position in its split (of the run\'s dataset), from 0.',
                     lower_bound=0)
flags.DEFINE_string('out', 'sst_tree.png', 'Where the PNG goes.')
flags.mark_flags_as_required(['workdir'])
FLAGS = flags.FLAGS

CLASS_NAMES = {'sst5': ['−−', '−', '0', '+', '++'], 'sst2_trees': ['−', '+']}


def predict(workdir: str, split: str, index: int):
  """(tree, predicted classes per node, gold classes per node (-1: none), dataset name, step)."""
  config, model, params, vocab, step = restore.load_tree_classifier(workdir)
  name = config.data.name
  data_dir = config.data.get('dir', '') or os.environ.get('SEQLAB_DATA_DIR', '')
  split_trees = trees.load_trees(data_dir, name)[split]
  if index >= len(split_trees):
    raise errors.UserError(f'--index={index}: the {split} split of {name} has trees 0..{len(split_trees) - 1}.')
  tree = split_trees[index]
  batch = trees.make_batch([tree], [trees.leaf_ids(vocab, tree)], name, np.arange(1), 1)
  logits = np.asarray(model.apply({'params': params}, batch))[0, :tree.num_nodes]
  return tree, logits.argmax(-1), trees.class_labels(tree, name), name, step


def main(argv):
  if len(argv) > 1:
    cli.fail(f'unexpected arguments {argv[1:]}; flags look like --name=value.')
  logging.set_verbosity(logging.WARNING)
  tree, predicted, gold, name, step = cli.run(predict, FLAGS.workdir, FLAGS.split, FLAGS.index)
  names = CLASS_NAMES[name]
  root_gold = names[gold[-1]] if gold[-1] >= 0 else 'none'
  title = (f'{" ".join(tree.words)}  (root: predicted {names[predicted[-1]]}, gold {root_gold}; '
           f'{name} {FLAGS.split} #{FLAGS.index}, step {step})')
  plots.plot_tree(tree.words, tree.left, tree.right, predicted, gold, names, title, FLAGS.out)
  print(f'wrote {FLAGS.out}')


if __name__ == '__main__':
  app.run(main)
