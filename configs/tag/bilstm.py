"""BiLSTM tagger over word embeddings only: 128-d words, 2 layers of 256 units per direction.

  python train.py --config=configs/tag/bilstm.py --workdir=runs/tag/bilstm
"""
from configs.tag import common

VARIANTS = common.VARIANTS


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'bilstm_tagger'
  c.model.embed_dim = 128
  c.model.char_dim = 64  # Used with char_hidden > 0 (configs/tag/char_bilstm.py).
  c.model.char_hidden = 0  # Words only.
  c.model.hidden_size = 256  # Per direction.
  c.model.num_layers = 2
  if variant == 'tiny':
    c.model.embed_dim, c.model.char_dim, c.model.hidden_size, c.model.num_layers = 8, 6, 8, 1
  return c
