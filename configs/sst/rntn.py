"""The recursive neural tensor network (Socher et al. 2013) on the treebank: 25-d word vectors and node
states (the paper's best sizes were 25-35), AdaGrad 0.01, batches of 27 trees, L2 1e-3 on the weights.
Paper (Table 1, all nodes' labels in training): 45.7 fine-grained, 85.4 binary root accuracy.

  python train.py --config=configs/sst/rntn.py --workdir=runs/sst/rntn [--config.data.name=sst2_trees]
"""
from configs.sst import common

VARIANTS = common.VARIANTS


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.cell = 'rntn'
  if not variant:
    c.model.embed_dim = 25
    c.train.batch_size = 27
  c.model.hidden_size = c.model.embed_dim  # Unused: the node states are word-sized.
  c.task.l2 = 1e-3
  c.optimizer.learning_rate = 0.01
  if not variant:
    # Slower to learn than the Tree-LSTM at this rate: 40.1 valid root accuracy (sst5) after 4 epochs, rising.
    c.train.num_epochs = 30
  return c
