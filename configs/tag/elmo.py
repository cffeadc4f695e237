"""The word + character BiLSTM tagger (configs/tag/char_bilstm.py) with ELMo features (Peters et al. 2018): each
word also reads a learned mix of a frozen biLM's layers. The biLM and the vocabulary come from an ELMo
pretraining run (lower-cased text, so word ids read the lower-cased words; the characters keep the case):

  python train.py --config=configs/pretrain/elmo.py --workdir=runs/pretrain/elmo \
      --config.data.pretrain_corpus=imdb --config.data.clean=lowercase_split
  python train.py --config=configs/tag/elmo.py --workdir=runs/tag/elmo --config.init_from=runs/pretrain/elmo
"""
from configs.classify import elmo as classify_elmo
from configs.tag import char_bilstm


def get_config(variant=''):
  c = char_bilstm.get_config(variant)
  pretrained = classify_elmo.get_config(variant).model
  c.model.elmo_dim = pretrained.elmo_dim  # As the pretraining run's, whose biLM it loads.
  c.model.elmo_layers = pretrained.elmo_layers
  c.data.lowercase = True
  return c
