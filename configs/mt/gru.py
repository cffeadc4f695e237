"""GRU encoder-decoder with the context fed to every decoder step and to the output (Cho et al. 2014).

  python train.py --config=configs/mt/gru.py --workdir=runs/mt/gru
"""
from configs.mt import common


def get_config(variant=''):
  c = common.recurrent(common.get_config(variant), variant)
  c.model.cell = 'gru'
  c.model.encoder_layers = c.model.decoder_layers = 1
  c.model.feed_context = True
  c.model.deep_output = True
  return c
