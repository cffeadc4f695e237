"""Sequence regression: read a (B, T, D) window, predict (B, O) values; loss = mean squared error.
And the copying-memory task: read (B, T) symbols, predict a symbol at every step; loss = cross-entropy.

Datasets: Géron's time series (forecast the next value), the adding problem, the copying task.
"""
import jax
import jax.numpy as jnp
import optax

from data import batching
from data import synthetic
from data import timeseries
from tasks import base
from tasks import registry

DATASETS = {'timeseries': timeseries.load_splits, 'adding': synthetic.adding_splits}  # Regression's.


@registry.register('regression')
class RegressionTask(base.Task):
  datasets = tuple(DATASETS)
  placeholder_dims = {}  # These models need nothing from the data to be built.
  supports_norm_stabilizer = True

  def __init__(self, config, workdir: str = '', resuming: bool = False):
    del workdir, resuming  # Nothing is derived from the data and saved.
    self.splits = self.load_splits(config.data)
    self.model_dims = {}
    self.norm_stabilizer = config.task.get('norm_stabilizer', 0.0)

  def load_splits(self, data_config) -> dict:
    return DATASETS[data_config.name](data_config)

  def train_batcher(self, batch_size: int, seed: int):
    return batching.EpochBatcher(self.splits['train'], batch_size, seed)

  def eval_batches(self, split: str, batch_size: int):
    return batching.eval_batches(self.splits[split], batch_size)

  def init_variables(self, model, rng, batch, carry):
    return model.init(rng, self.model_inputs(batch))

  def eval_metrics(self, model, params, batch, carry):
    return self._sums(model.apply({'params': params}, self.model_inputs(batch)), batch), carry

  def _sums(self, predictions_BO, batch):
    """{'mse', 'mae'} as (sum over the batch's real values, their number)."""
    error_BO = predictions_BO.astype(jnp.float32) - batch['targets']
    weight_B = batch['weight']
    count = weight_B.sum() * error_BO.shape[-1]
    return {'mse': (((error_BO ** 2).sum(-1) * weight_B).sum(), count),
            'mae': ((jnp.abs(error_BO).sum(-1) * weight_B).sum(), count)}

  def loss(self, model, params, batch, carry, rng, step):
    """Returns (loss, (metric sums, carry)); the loss is the batch's weighted MSE, as Keras's (plus the
    norm-stabilizer's penalty)."""
    del rng  # These models are deterministic.
    predictions, penalty = base.apply_with_norm_stabilizer(model, {'params': params}, self.norm_stabilizer,
                                                           self.model_inputs(batch))
    sums = self._sums(predictions, batch)
    total, count = sums[self.loss_metric]
    return total / jnp.maximum(count, 1.0) + penalty, (sums, carry)

  loss_metric = 'mse'

  def model_inputs(self, batch):
    return batch['inputs']

  def loss_weight(self, sums):
    return sums[self.loss_metric][1]


@registry.register('copy')
class CopyTask(RegressionTask):
  """The copying-memory task: one-hot symbols in, a softmax over the 10 symbols at every step out (the model
  reads them with model.every_step=true). Metrics: ce (nats per step, the loss), ce_ratio (ce over the
  memoryless baseline 10 log 8 / (T + 20); below 1 means something was remembered) and recall (% of the 10
  recalled symbols right)."""
  datasets = ('copy',)

  def load_splits(self, data_config) -> dict:
    self.baseline = synthetic.copy_baseline(data_config.length)
    return synthetic.copy_splits(data_config)

  loss_metric = 'ce'

  def model_inputs(self, batch):
    return jax.nn.one_hot(batch['inputs'], synthetic.COPY_CLASSES)

  def _sums(self, logits_BTK, batch):
    targets_BT = batch['targets'].astype(jnp.int32)
    weight_B = batch['weight']
    ce_B = optax.softmax_cross_entropy_with_integer_labels(logits_BTK.astype(jnp.float32), targets_BT).sum(-1)
    steps = weight_B.sum() * targets_BT.shape[1]
    recall_BR = (logits_BTK[:, -synthetic.COPY_LENGTH:].argmax(-1) == targets_BT[:, -synthetic.COPY_LENGTH:])
    return {'ce': ((ce_B * weight_B).sum(), steps),
            'ce_ratio': ((ce_B * weight_B).sum() / self.baseline, steps),
            'recall': (100.0 * (recall_BR.mean(-1) * weight_B).sum(), weight_B.sum())}
