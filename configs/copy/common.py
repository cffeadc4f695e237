"""The copying-memory task (Arjovsky, Shah & Bengio 2016, section 4.1): remember 10 symbols across T blanks and
recall them after a delimiter. One budget for every cell; the long_memory sweep varies T and the cell.
"""
from configs import common

VARIANTS = ('', 'tiny')
# Hidden widths of Arjovsky et al.'s copying runs' spirit (similar parameter counts) and Lezcano-Casado &
# Martínez-Rubio's expRNN (190); a uRNN's width counts 2 reals per complex unit (256 = 128 complex units).
HIDDEN = {'elman': 128, 'irnn': 128, 'lstm': 128, 'urnn': 256, 'exprnn': 190}


def get_config(cell='lstm', variant=''):
  common.check_variant(variant, VARIANTS)
  c = common.get_config()
  c.task.name = 'copy'
  c.data.name = 'copy'
  c.data.seed = 0
  c.data.length = 100  # T, the blanks between the symbols and the delimiter.
  c.data.num_train = 50000  # Cycled; a net cannot memorize 8^10 symbol strings, so it must learn to copy.
  c.data.num_valid = 500
  c.data.num_test = 2000
  c.model.name = 'rnn'
  c.model.cell = cell  # elman, irnn, lstm, urnn, exprnn (gru too).
  c.model.activation = 'tanh'  # elman only.
  c.model.hidden_sizes = (HIDDEN.get(cell, 128),)
  c.model.head = 'dense'
  c.model.every_step = True  # A softmax over the 10 symbols at every step.
  c.model.output_size = 10
  c.model.forget_bias = 1.0
  c.model.unroll = 1  # lax.scan unroll factor: speed only, same numbers.
  c.model.dtype = 'float32'  # float32 or bfloat16 matmul operands; params, states, logits: float32 (precision.py).
  c.train.batch_size = 128  # expRNN's copying runs' batch.
  c.train.num_steps = 4000
  c.optimizer.name = 'rmsprop'  # Arjovsky et al. and Lezcano-Casado et al. trained with RMSProp.
  c.optimizer.learning_rate = 1e-3
  c.optimizer.clip_norm = 1.0
  c.eval.every_steps = 100  # Dense enough to see when the loss first falls below 10% of the baseline.
  c.eval.batch_size = 500
  c.checkpoint.every_steps = 500
  c.log.every_steps = 50
  if variant == 'tiny':
    c.data.length, c.data.num_train, c.data.num_valid, c.data.num_test = 5, 200, 50, 50
    c.model.hidden_sizes = (8,)
    c.train.batch_size = 16
    c.train.num_steps, c.eval.every_steps, c.checkpoint.every_steps, c.log.every_steps = 20, 10, 10, 5
    c.eval.batch_size = 0
  return c
