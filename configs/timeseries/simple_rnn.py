"""SimpleRNN(1): one tanh unit whose last state is the forecast.

  python train.py --config=configs/timeseries/simple_rnn.py --workdir=runs/simple_rnn

Reference (Géron ch. 15): valid MSE 0.0109 after 20 epochs of Adam.
"""
from configs.timeseries import common


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'rnn'
  c.model.cell = 'elman'  # h_t = act(x_t W + h_{t-1} U + b).
  c.model.activation = 'tanh'
  c.model.hidden_sizes = (1,)  # One recurrent layer per entry, stacked.
  c.model.head = 'none'  # 'dense': a Dense(output_size) on the last state; 'none': the state is the output.
  c.model.unroll = 1  # lax.scan unroll factor: speed only, same numbers.
  c.model.dtype = 'float32'  # float32 or bfloat16 matmul operands; params, states, logits: float32 (precision.py).
  return c
