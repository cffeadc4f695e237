"""Fixed-window neural LM (Bengio et al. 2003) on Tiny Shakespeare characters.

  python train.py --config=configs/charlm/mlp.py --workdir=runs/charlm_mlp
"""
from configs.charlm import common


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'mlp_lm'
  c.model.order = 8  # Predicts from the order-1 previous characters.
  c.model.embed_dim = 32
  c.model.hidden_size = 1024  # The tanh layer between the window and the softmax.
  c.model.dropout = 0.25
  c.model.dtype = 'float32'  # float32 or bfloat16 matmul operands; params, states, logits: float32 (precision.py).
  if variant == 'tiny':
    c.model.order, c.model.embed_dim, c.model.hidden_size = 4, 8, 16
  return c
