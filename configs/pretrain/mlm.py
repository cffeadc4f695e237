"""BERT-style masked-LM pretraining of configs/classify/transformer.py's encoder.

  python train.py --config=configs/pretrain/mlm.py --workdir=runs/pretrain/mlm
"""
from configs.classify import transformer
from configs.pretrain import common


def get_config(variant=''):
  c = common.pretraining(transformer.get_config(variant), 'mlm', variant)
  c.optimizer.learning_rate = 5e-4
  return c
