"""GPT-1-style causal-LM pretraining of configs/classify/gpt.py's decoder.

  python train.py --config=configs/pretrain/gpt.py --workdir=runs/pretrain/gpt
"""
from configs.classify import gpt
from configs.pretrain import common


def get_config(variant=''):
  c = common.pretraining(gpt.get_config(variant), 'causal', variant)
  c.optimizer.learning_rate = 5e-4
  return c
