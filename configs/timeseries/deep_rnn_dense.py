"""Deep RNN with a dense head: SimpleRNN(20, seq) > SimpleRNN(20) > Dense(1). `make train` runs it.

  python train.py --config=configs/timeseries/deep_rnn_dense.py --workdir=runs/deep_rnn_dense

Reference (Géron ch. 15): valid MSE 0.00262 after 20 epochs of Adam.
Measured: see the README's results section.
"""
from configs.timeseries import simple_rnn


def get_config(variant=''):
  c = simple_rnn.get_config(variant)
  c.model.hidden_sizes = (20, 20)
  c.model.head = 'dense'
  return c
