"""Shared settings of the recursive models on the Stanford Sentiment Treebank (task tree_classification).

data.name: sst5 (the five labels) or sst2_trees (negative / positive; neutral sentences dropped, neutral
phrases unscored). Every node's softmax is in the loss; `accuracy` is at the roots, `phrase_accuracy` over
all labeled nodes. Word vectors are random (no pretrained embeddings), the final evaluation uses the
parameters of the best dev root accuracy.
"""
from configs import common

VARIANTS = ('', 'tiny')


def get_config(variant=''):
  """variant 'tiny': a few steps of a small model, for tests."""
  common.check_variant(variant, VARIANTS)
  c = common.get_config()
  c.task.name = 'tree_classification'
  c.task.l2 = 0.0  # λ of (λ/2)·||weights||² added to each batch's loss (not biases or word vectors).

  c.data.name = 'sst5'  # sst5 or sst2_trees.
  c.data.min_count = 1  # Training words seen fewer times become <unk>.
  c.data.max_vocab = 0  # Cap on the vocabulary, the special ids included; 0 = none.
  c.data.pad_multiple = 16  # Nodes per tree, rounded up: few distinct shapes reach jit.
  c.data.level_multiple = 8  # The batch's tree levels and nodes per level, rounded up likewise.
  c.data.pool_batches = 100  # Trees of similar size share a batch (fewer padded nodes and levels).

  c.model.name = 'recursive'
  c.model.dropout = 0.0
  c.model.embed_init_std = 0.1
  c.model.dtype = 'float32'

  c.train.batch_size = 25
  c.train.num_epochs = 10
  c.optimizer.name = 'adagrad'
  c.optimizer.learning_rate = 0.05
  c.optimizer.initial_accumulator = 0.0
  c.optimizer.eps = 1e-8
  c.eval.every_steps = 0  # Every epoch.
  c.eval.batch_size = 100
  c.eval.select_metric = 'accuracy'
  c.checkpoint.every_steps = 0
  c.log.every_steps = 50
  if variant == 'tiny':
    c.model.embed_dim, c.model.hidden_size = 8, 6
    common.tiny_sentence_run(c)
  return c
