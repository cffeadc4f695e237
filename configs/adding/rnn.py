"""Adding problem with an Elman (tanh) RNN of 100 units (T from --config.data.length, default 100).

  python train.py --config=configs/adding/rnn.py --workdir=runs/adding_rnn --config.data.length=200
"""
from configs.adding import common


def get_config(variant=''):
  return common.get_config('elman', variant)
