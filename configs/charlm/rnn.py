"""Elman (tanh) RNN char LM on Tiny Shakespeare.

  python train.py --config=configs/charlm/rnn.py --workdir=runs/charlm_rnn
"""
from configs.charlm import common


def get_config(variant=''):
  return common.recurrent(common.get_config(variant), 'elman', variant)
