"""The adding problem (Le et al. 2015, section 4.1): recurrent nets must carry two marked values
across T steps. One budget for every cell; the sweep varies T and the cell.
"""
from configs import common

VARIANTS = ('', 'tiny')


def get_config(cell='lstm', variant=''):
  common.check_variant(variant, VARIANTS)
  c = common.get_config()
  c.task.name = 'regression'
  c.data.name = 'adding'
  c.data.seed = 0
  c.data.length = 100  # T, the sequence length.
  c.data.num_train = 100000
  c.data.num_valid = 2000
  c.data.num_test = 10000
  c.model.name = 'rnn'
  c.model.cell = cell  # elman, irnn, gru, lstm, urnn, exprnn.
  c.model.activation = 'tanh'  # elman only.
  c.model.hidden_sizes = (100,)  # Le et al.: 100 units.
  c.model.head = 'dense'
  c.model.output_size = 1
  c.model.forget_bias = 1.0
  c.model.unroll = 1  # lax.scan unroll factor: speed only, same numbers.
  c.model.dtype = 'float32'  # float32 or bfloat16 matmul operands; params, states, logits: float32 (precision.py).
  c.train.batch_size = 32
  c.train.num_steps = 3000
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.clip_norm = 1.0
  c.eval.every_steps = 100  # Dense enough to see when the MSE first falls below 0.01.
  c.eval.batch_size = 1000
  c.checkpoint.every_steps = 500
  c.log.every_steps = 100
  if variant == 'tiny':
    c.data.length, c.data.num_train, c.data.num_valid, c.data.num_test = 10, 200, 50, 50
    c.model.hidden_sizes = (8,)
    c.train.num_steps, c.eval.every_steps, c.checkpoint.every_steps, c.log.every_steps = 20, 10, 10, 5
    c.eval.batch_size = 0
  return c
