"""Adding problem with a GRU of 100 units (T from --config.data.length, default 100).

  python train.py --config=configs/adding/gru.py --workdir=runs/adding_gru --config.data.length=200
"""
from configs.adding import common


def get_config(variant=''):
  return common.get_config('gru', variant)
