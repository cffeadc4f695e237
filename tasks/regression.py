"""Sequence regression: read a (B, T, D) window, predict (B, O) values; loss = mean squared error.

Datasets: Géron's time series (forecast the next value) and the adding problem.
"""
import jax.numpy as jnp

from data import batching
from data import synthetic
from data import timeseries
from tasks import base
from tasks import registry

DATASETS = {'timeseries': timeseries.load_splits, 'adding': synthetic.adding_splits}


@registry.register('regression')
class RegressionTask(base.Task):
  datasets = tuple(DATASETS)
  placeholder_dims = {}  # These models need nothing from the data to be built.

  def __init__(self, config, workdir: str = '', resuming: bool = False):
    del workdir, resuming  # Nothing is derived from the data and saved.
    self.splits = DATASETS[config.data.name](config.data)
    self.model_dims = {}

  def train_batcher(self, batch_size: int, seed: int):
    return batching.EpochBatcher(self.splits['train'], batch_size, seed)

  def eval_batches(self, split: str, batch_size: int):
    return batching.eval_batches(self.splits[split], batch_size)

  def init_variables(self, model, rng, batch, carry):
    return model.init(rng, batch['inputs'])

  def eval_metrics(self, model, params, batch, carry):
    """{'mse', 'mae'} as (sum over the batch's real values, their number), and the carry."""
    error_BO = model.apply({'params': params}, batch['inputs']).astype(jnp.float32) - batch['targets']
    weight_B = batch['weight']
    count = weight_B.sum() * error_BO.shape[-1]
    return {'mse': (((error_BO ** 2).sum(-1) * weight_B).sum(), count),
            'mae': ((jnp.abs(error_BO).sum(-1) * weight_B).sum(), count)}, carry

  def loss_weight(self, sums):
    return sums['mse'][1]

  def loss(self, model, params, batch, carry, rng, step):
    """Returns (loss, (metric sums, carry)); the loss is the batch's weighted MSE, as Keras's."""
    del rng  # These models are deterministic.
    sums, carry = self.eval_metrics(model, params, batch, carry)
    total, count = sums['mse']
    return total / jnp.maximum(count, 1.0), (sums, carry)
