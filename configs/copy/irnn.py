"""Copying-memory task with the irnn cell (T from --config.data.length, default 100).

  python train.py --config=configs/copy/irnn.py --workdir=runs/copy_irnn --config.data.length=500
"""
from configs.copy import common


def get_config(variant=''):
  return common.get_config('irnn', variant)
