"""Pretraining ELMo's biLM (models/elmo.py): forward and backward LSTM language models over unlabeled sentences,
one shared softmax; then fine-tune configs/classify/elmo.py with --config.init_from.

  python train.py --config=configs/pretrain/elmo.py --workdir=runs/pretrain/elmo
"""
from configs.classify import elmo
from configs.pretrain import common


def get_config(variant=''):
  return common.pretraining(elmo.get_config(variant), 'bilm', variant)
