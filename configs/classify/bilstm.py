"""Bidirectional LSTM classifier: the forward state at the last real token and the backward state at
the first, concatenated, a softmax.

  python train.py --config=configs/classify/bilstm.py --workdir=runs/classify/bilstm
"""
from configs.classify import lstm


def get_config(variant=''):
  c = lstm.get_config(variant)
  c.model.bidirectional = True
  c.model.hidden_size = 150 if not variant else c.model.hidden_size  # Per direction: the LSTM row's width in all.
  return c
