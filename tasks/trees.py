"""Sentiment over parse trees (the Stanford Sentiment Treebank) with the recursive models: every node labeled.

As in Socher et al. (2013) and Tai et al. (2015) every labeled node's softmax is in the loss: the training
loss of a tree is the sum of its nodes' cross-entropies (`loss` is its mean over trees), plus task.l2 / 2
times the squared norm of the weights (not the biases or word vectors), per batch as Tai et al. did.
Metrics: `accuracy` at the roots (the sentences, what the papers' tables report) and `phrase_accuracy` over
every labeled node; both in %. SST-2 (data.name=sst2_trees) scores only the nodes that are not neutral.
"""
import jax
import jax.numpy as jnp
import optax

from data import trees
from tasks import base
from tasks import classification
from tasks import registry


@registry.register('tree_classification')
class TreeClassificationTask(base.Task):
  datasets = trees.DATASETS
  placeholder_dims = {'vocab_size': 16, 'num_classes': 5}

  @staticmethod
  def check_config(config):
    if config.model.name != 'recursive':
      raise ValueError(f'task.name=tree_classification trains model.name=recursive; got {config.model.name!r}.')
    if config.task.l2 < 0:
      raise ValueError(f'task.l2 must be >= 0; got {config.task.l2}.')

  def __init__(self, config, workdir: str, resuming: bool = False):
    self.config = config
    self.name = config.data.name
    self.trees = trees.load_trees(config.data.get('dir', ''), self.name)
    texts = [' '.join(t.words) for t in self.trees['train']]
    self.vocab = classification.run_vocabulary(config, workdir, texts, resuming)
    self.ids = {split: [trees.leaf_ids(self.vocab, t) for t in split_trees] for split, split_trees in self.trees.items()}
    self.model_dims = {'vocab_size': self.vocab.vocab_size, 'num_classes': trees.NUM_CLASSES[self.name]}

  def _batch_args(self):
    return dict(pad_multiple=self.config.data.pad_multiple, level_multiple=self.config.data.level_multiple)

  def train_batcher(self, batch_size: int, seed: int):
    return trees.train_batcher(self.trees['train'], self.ids['train'], self.name, batch_size, seed,
                               pool_batches=self.config.data.pool_batches, **self._batch_args())

  def eval_batches(self, split: str, batch_size: int):
    return trees.eval_batches(self.trees[split], self.ids[split], self.name, batch_size, **self._batch_args())

  def init_variables(self, model, rng, batch, carry):
    return model.init(rng, batch)

  @staticmethod
  def _sums(logits_BJK, batch):
    tree_B = batch['weight']
    node_BJ = batch['node_weight'] * tree_B[:, None]
    nll_BJ = optax.softmax_cross_entropy_with_integer_labels(logits_BJK, batch['node_label'])
    correct_BJ = (jnp.argmax(logits_BJK, -1) == batch['node_label']).astype(jnp.float32)
    root_B = jnp.take_along_axis(correct_BJ, batch['root'][:, None], 1)[:, 0]
    root_weight_B = jnp.take_along_axis(node_BJ, batch['root'][:, None], 1)[:, 0]
    return {'loss': (jnp.sum(nll_BJ * node_BJ), jnp.sum(tree_B)),
            'accuracy': (jnp.sum(root_B * root_weight_B), jnp.sum(root_weight_B)),
            'phrase_accuracy': (jnp.sum(correct_BJ * node_BJ), jnp.sum(node_BJ))}

  def loss(self, model, params, batch, carry, rng, step):
    logits_BJK = model.apply({'params': params}, batch, train=True, rngs={'dropout': rng})
    sums = self._sums(logits_BJK, batch)
    total = sums['loss'][0] / jnp.maximum(sums['loss'][1], 1.0)
    if self.config.task.l2:
      weights = [w for path, w in jax.tree_util.tree_leaves_with_path(params)
                 if path[-1].key not in ('bias', 'embedding')]
      total = total + 0.5 * self.config.task.l2 * sum(jnp.sum(w * w) for w in weights)
    return total, (sums, carry)

  def eval_metrics(self, model, params, batch, carry):
    return self._sums(model.apply({'params': params}, batch), batch), carry

  def summarize(self, split: str, metrics: dict) -> dict:
    return dict(metrics, accuracy=100.0 * metrics['accuracy'], phrase_accuracy=100.0 * metrics['phrase_accuracy'])
