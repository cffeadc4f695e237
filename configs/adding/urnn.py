"""Adding problem with the urnn cell (T from --config.data.length, default 100).

  python train.py --config=configs/adding/urnn.py --workdir=runs/adding_urnn --config.data.length=750
"""
from configs.adding import common


def get_config(variant=''):
  return common.get_config('urnn', variant)
