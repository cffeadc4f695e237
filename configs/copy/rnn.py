"""Copying-memory task with the elman cell (T from --config.data.length, default 100).

  python train.py --config=configs/copy/rnn.py --workdir=runs/copy_rnn --config.data.length=500
"""
from configs.copy import common


def get_config(variant=''):
  return common.get_config('elman', variant)
