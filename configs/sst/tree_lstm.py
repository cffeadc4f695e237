"""The constituency (binary) Tree-LSTM of Tai et al. (2015) on the treebank, their sentiment recipe with
random word vectors: 300-d words, 150 hidden units, AdaGrad 0.05, batches of 25 trees, L2 1e-4 per batch,
dropout 0.5 before the softmax. Paper (Table 2, randomly initialized vectors): 43.9 fine-grained, 82.0 binary.

  python train.py --config=configs/sst/tree_lstm.py --workdir=runs/sst/tree_lstm [--config.data.name=sst2_trees]
"""
from configs.sst import common

VARIANTS = common.VARIANTS


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.cell = 'tree_lstm'
  if not variant:
    c.model.embed_dim, c.model.hidden_size = 300, 150
  c.model.dropout = 0.5
  c.task.l2 = 1e-4
  c.optimizer.learning_rate = 0.05
  return c
