"""LSTM classifier (configs/classify/lstm.py) on IMDB movie reviews (Maas et al. 2011): 25,000 training
reviews, of which about 10% are held out as valid by a hash of each review's text (the same for every seed),
and the 25,000 test reviews. The raw reviews are lower-cased with punctuation split off, and each keeps its
first 400 tokens (17% of the training reviews are longer); words outside the 25,000 most frequent are <unk>
(configs/classify/common.py imdb).

  python train.py --config=configs/classify/imdb_lstm.py --workdir=runs/classify/imdb_lstm
"""
from configs.classify import common
from configs.classify import lstm


def get_config(variant=''):
  return common.imdb(lstm.get_config(variant), variant)
