"""BiLSTM classifier with ELMo features (Peters et al. 2018; models/elmo.py): each token's word embedding
concatenated with a learned mix of a frozen biLM's layers. Pretrain the biLM first, then fine-tune from it:

  python train.py --config=configs/pretrain/elmo.py --workdir=runs/pretrain/elmo
  python train.py --config=configs/classify/elmo.py --workdir=runs/classify/elmo \
      --config.init_from=runs/pretrain/elmo

Without init_from the biLM stays at its random initialization (frozen): an ablation, not ELMo.
"""
from configs.classify import bilstm


def get_config(variant=''):
  c = bilstm.get_config(variant)
  c.model.name = 'elmo_classifier'
  c.model.elmo_dim = 256  # The biLM's token embedding and LSTM width per direction (ELMo features: twice that).
  c.model.elmo_layers = 2  # Its LSTM layers per direction; the mix spans them and the embedding.
  c.model.elmo_dropout = 0.1  # Inside the biLM while it pretrains.
  if variant == 'tiny':
    c.model.elmo_dim, c.model.elmo_layers = 8, 2
  return c
