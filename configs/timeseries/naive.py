"""Naive forecast: predict the last observed value. No parameters, no training.

  python train.py --config=configs/timeseries/naive.py --workdir=runs/naive

Expected: valid/mse 0.0202 (Géron's table reports 0.020), in a few seconds.
"""
from configs.timeseries import common


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'naive'
  c.train.num_epochs = 0  # Evaluation only.
  c.train.num_steps = 0
  return c
