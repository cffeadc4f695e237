"""Additive attention over a bidirectional GRU encoder (Bahdanau et al. 2015).

  python train.py --config=configs/mt/attention.py --workdir=runs/mt/attention

The decoder GRU reads [embedding; context]; the softmax reads a tanh layer over
[state; context; embedding] (Bahdanau's deep output, without the maxout).
Target: test BLEU >= 28.1 (beam 5) at <= 20.5M parameters.
"""
from configs.mt import common


def get_config(variant=''):
  c = common.recurrent(common.get_config(variant), variant)
  c.model.cell = 'gru'
  c.model.encoder_layers = c.model.decoder_layers = 1
  c.model.bidirectional = True
  c.model.attention = 'additive'
  c.model.deep_output = True
  c.model.output_dim = 512
  if variant == 'tiny':
    c.model.output_dim = 16
  return c
