"""IRNN char LM (ReLU units, identity recurrent init; Le et al. 2015) on Tiny Shakespeare.

  python train.py --config=configs/charlm/irnn.py --workdir=runs/charlm_irnn
"""
from configs.charlm import common


def get_config(variant=''):
  c = common.recurrent(common.get_config(variant), 'irnn', variant)
  c.optimizer.learning_rate = 1e-3  # ReLU recurrences are less forgiving of large steps.
  return c
