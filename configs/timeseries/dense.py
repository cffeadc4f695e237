"""Linear model: Dense(1) on the 50 flattened input steps.

  python train.py --config=configs/timeseries/dense.py --workdir=runs/dense

Reference (Géron ch. 15): valid MSE 0.00417 after 20 epochs of Adam.
"""
from configs.timeseries import common


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'dense'
  c.model.dtype = 'float32'  # float32 or bfloat16 matmul operands; params, states, logits: float32 (precision.py).
  return c
