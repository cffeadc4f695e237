"""Pretraining of configs/classify/imdb_lstm.py's LSTM on IMDB's text: the training reviews outside the
classifier's valid split and the 50,000 unlabeled reviews (never the test reviews).

task.objective 'autoencoder' (the default here): Dai & Le's (2015) sequence autoencoder, SA-LSTM. The
encoder reads a review; a decoder LSTM of its own, started from the encoder's final state, rebuilds it word
by word. 'causal': their LM-LSTM, the same LSTM trained as a language model.

  python train.py --config=configs/pretrain/imdb_lstm.py --workdir=runs/pretrain/sa_lstm
  python train.py --config=configs/classify/imdb_lstm.py --workdir=runs/classify/sa_lstm_imdb \
      --config.init_from=runs/pretrain/sa_lstm

The classifier keeps the encoder (embeddings, LSTM, LM output) and starts its output layer fresh.
"""
from configs.classify import imdb_lstm
from configs.pretrain import common


def get_config(variant=''):
  c = common.pretraining(imdb_lstm.get_config(variant), 'autoencoder', variant)
  if not variant:  # The tiny variant keeps common's small corpus.
    c.data.pretrain_corpus = 'imdb'
  return c
