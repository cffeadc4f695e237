"""Forecasting: predict the next value(s) of a series; loss = mean squared error."""
import jax.numpy as jnp

from data import timeseries
from tasks import registry

DATASETS = {'timeseries': timeseries.load_splits}


@registry.register('forecast')
class ForecastTask:
  datasets = tuple(DATASETS)

  def __init__(self, config):
    self.splits = DATASETS[config.data.name](config.data)

  def arrays(self, split: str) -> dict:
    return self.splits[split]

  def eval_metrics(self, model, params, batch) -> dict:
    """{'mse', 'mae'} as (sum over the batch's real values, their number)."""
    error_BO = model.apply({'params': params}, batch['inputs']).astype(jnp.float32) - batch['targets']
    weight_B = batch['weight']
    count = weight_B.sum() * error_BO.shape[-1]
    return {'mse': (((error_BO ** 2).sum(-1) * weight_B).sum(), count),
            'mae': ((jnp.abs(error_BO).sum(-1) * weight_B).sum(), count)}

  def loss(self, model, params, batch, rng):
    """Returns (loss, metric sums); the loss is the batch's weighted MSE, as Keras's."""
    del rng  # Forecasters here are deterministic.
    sums = self.eval_metrics(model, params, batch)
    total, count = sums['mse']
    return total / jnp.maximum(count, 1.0), sums
