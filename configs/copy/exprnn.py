"""Copying-memory task with the exprnn cell (T from --config.data.length, default 100).

  python train.py --config=configs/copy/exprnn.py --workdir=runs/copy_exprnn --config.data.length=500
"""
from configs.copy import common


def get_config(variant=''):
  return common.get_config('exprnn', variant)
