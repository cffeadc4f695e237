"""Bag of embeddings: the mean of the word vectors (order invariant), a tanh layer, a softmax.

  python train.py --config=configs/classify/boe.py --workdir=runs/classify/boe [--config.data.name=mr]
"""
from configs.classify import common


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'boe'
  c.model.embed_dim = 300
  c.model.hidden_sizes = (300,)  # MLP over the mean; () = linear classifier.
  c.model.activation = 'tanh'
  c.model.dropout = 0.5
  c.model.dtype = 'float32'  # float32 or bfloat16 matmul operands; params, states, logits: float32 (precision.py).
  c.train.num_epochs = 20
  if variant == 'tiny':
    c.model.embed_dim, c.model.hidden_sizes = 16, (16,)
  return c
