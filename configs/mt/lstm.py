"""LSTM encoder-decoder (Sutskever et al. 2014): 2 layers, the decoder starts from the encoder's final states.

  python train.py --config=configs/mt/lstm.py --workdir=runs/mt/lstm
"""
from configs.mt import common


def get_config(variant=''):
  c = common.recurrent(common.get_config(variant), variant)
  c.model.cell = 'lstm'
  c.model.reverse_source = True
  return c
