"""Adding problem with the exprnn cell (T from --config.data.length, default 100).

  python train.py --config=configs/adding/exprnn.py --workdir=runs/adding_exprnn --config.data.length=750
"""
from configs.adding import common


def get_config(variant=''):
  return common.get_config('exprnn', variant)
