"""BiLSTM tagger over word embeddings concatenated with a character BiLSTM's encoding of each word (Plank
et al. 2016): unknown words are read from their spelling.

  python train.py --config=configs/tag/char_bilstm.py --workdir=runs/tag/char_bilstm [--config.model.crf=true]
"""
from configs.tag import bilstm

VARIANTS = bilstm.VARIANTS


def get_config(variant=''):
  c = bilstm.get_config(variant)
  c.model.char_hidden = 8 if variant == 'tiny' else 64
  return c
