"""LSTM classifier (configs/classify/lstm.py) on IMDB movie reviews (Maas et al. 2011): 25,000 training
reviews, of which about 10% are held out as valid by a hash of each review's text (the same for every seed),
and the 25,000 test reviews. The raw reviews are lower-cased with punctuation split off, and each keeps its
first 400 tokens (17% of the training reviews are longer); words outside the 25,000 most frequent are <unk>.

  python train.py --config=configs/classify/imdb_lstm.py --workdir=runs/classify/imdb_lstm

The other classifiers read IMDB with the same four data.* fields (name, clean, max_len, max_vocab).
"""
from configs.classify import lstm


def get_config(variant=''):
  c = lstm.get_config(variant)
  c.data.name = 'imdb'
  c.data.clean = 'lowercase_split'  # Raw text: "Great film!<br />" -> "great film !".
  c.data.max_len = 400
  c.data.max_vocab = 25_000 if not variant else c.data.max_vocab  # The 4 special ids included.
  return c
