"""LSTM classifier: the final state (at the last real token) of a one-layer LSTM, a softmax.

  python train.py --config=configs/classify/lstm.py --workdir=runs/classify/lstm
"""
from configs.classify import common


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'rnn_classifier'
  c.model.cell = 'lstm'
  c.model.embed_dim = 300
  c.model.hidden_size = 300  # LSTM state width.
  c.model.num_layers = 1
  c.model.bidirectional = False
  c.model.pooling = 'final'  # final, mean or max over the real positions.
  c.model.dropout = 0.5
  c.model.dtype = 'float32'  # float32 or bfloat16 matmul operands; params, states, logits: float32 (precision.py).
  c.optimizer.clip_norm = 5.0
  if variant == 'tiny':
    c.model.embed_dim, c.model.hidden_size = 16, 16
  return c
