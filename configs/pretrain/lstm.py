"""Causal-LM pretraining of configs/classify/lstm.py's LSTM.

  python train.py --config=configs/pretrain/lstm.py --workdir=runs/pretrain/lstm
"""
from configs.classify import lstm
from configs.pretrain import common


def get_config(variant=''):
  return common.pretraining(lstm.get_config(variant), 'causal', variant)
