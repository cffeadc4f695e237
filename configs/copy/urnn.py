"""Copying-memory task with the urnn cell (T from --config.data.length, default 100).

  python train.py --config=configs/copy/urnn.py --workdir=runs/copy_urnn --config.data.length=500
"""
from configs.copy import common


def get_config(variant=''):
  return common.get_config('urnn', variant)
