"""Adding problem with an IRNN of 100 units (T from --config.data.length, default 100).

  python train.py --config=configs/adding/irnn.py --workdir=runs/adding_irnn --config.data.length=200
"""
from configs.adding import common


def get_config(variant=''):
  return common.get_config('irnn', variant)
