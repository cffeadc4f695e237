"""Sequence-autoencoder pretraining (Dai & Le 2015, SA-LSTM) of configs/classify/imdb_lstm.py's LSTM on
IMDB's text: the training reviews outside the classifier's valid split and the 50,000 unlabeled reviews.

  python train.py --config=configs/pretrain/sa_lstm.py --workdir=runs/pretrain/sa_lstm
  python train.py --config=configs/classify/imdb_lstm.py --workdir=runs/classify/sa_lstm_imdb \
      --config.init_from=runs/pretrain/sa_lstm

The encoder reads a review; a decoder LSTM of its own, started from the encoder's final state, rebuilds it
word by word. The classifier keeps the encoder (embeddings and LSTM) and starts its output layer fresh.
"""
from configs.classify import imdb_lstm
from configs.pretrain import common


def get_config(variant=''):
  c = common.pretraining(imdb_lstm.get_config(variant), 'autoencoder', variant)
  if not variant:  # The tiny variant keeps common's small corpus.
    c.data.pretrain_corpus = 'imdb'
  return c
