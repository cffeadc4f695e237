"""BART's denoising pretraining (Lewis et al. 2019) of configs/classify/bart.py's encoder-decoder: each IMDB
review's first sentences (up to data.max_len tokens), sentences permuted and ~Poisson(3)-token spans covering 30%
of the tokens each replaced by one [MASK]; the decoder reconstructs the original.

  python train.py --config=configs/pretrain/bart.py --workdir=runs/pretrain/bart
"""
from configs.classify import bart
from configs.pretrain import common


def get_config(variant=''):
  c = common.pretraining(bart.get_config(variant), 'bart', variant)
  c.optimizer.learning_rate = 5e-4
  c.data.pretrain_corpus = 'imdb'  # Documents: BART permutes a document's sentences.
  c.data.clean = 'lowercase_split'
  return c
