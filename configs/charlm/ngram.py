"""Interpolated Kneser–Ney character n-gram LM on Tiny Shakespeare (counted, not trained).

  python train.py --config=configs/charlm/ngram.py --workdir=runs/charlm_ngram [--config.model.order=6]
"""
from configs.charlm import common


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'ngram'
  c.model.order = 6  # Characters of context + 1.
  if variant == 'tiny':
    c.model.order = 3
  return c
