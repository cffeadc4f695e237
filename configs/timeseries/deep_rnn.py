"""Deep RNN: SimpleRNN(20, seq) > SimpleRNN(20, seq) > SimpleRNN(1).

  python train.py --config=configs/timeseries/deep_rnn.py --workdir=runs/deep_rnn

Reference (Géron ch. 15): valid MSE 0.00291 after 20 epochs of Adam.
"""
from configs.timeseries import simple_rnn


def get_config(variant=''):
  c = simple_rnn.get_config(variant)
  c.model.hidden_sizes = (20, 20, 1)
  return c
