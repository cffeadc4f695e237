"""Causal-LM pretraining of configs/classify/imdb_gpt.py's decoder on IMDB's text: the training reviews
outside the classifier's valid split and the 50,000 unlabeled reviews (never the test reviews).

  python train.py --config=configs/pretrain/imdb_gpt.py --workdir=runs/pretrain/imdb_gpt
"""
from configs.classify import imdb_gpt
from configs.pretrain import common


def get_config(variant=''):
  c = common.pretraining(imdb_gpt.get_config(variant), 'causal', variant)
  c.optimizer.learning_rate = 5e-4
  if not variant:  # The tiny variant keeps common's small corpus.
    c.data.pretrain_corpus = 'imdb'
  return c
