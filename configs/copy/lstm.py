"""Copying-memory task with the lstm cell (T from --config.data.length, default 100).

  python train.py --config=configs/copy/lstm.py --workdir=runs/copy_lstm --config.data.length=500
"""
from configs.copy import common


def get_config(variant=''):
  return common.get_config('lstm', variant)
