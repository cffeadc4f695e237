"""GRU char LM on Tiny Shakespeare (the LSTM config with GRU cells).

  python train.py --config=configs/charlm/gru.py --workdir=runs/charlm_gru
"""
from configs.charlm import common


def get_config(variant=''):
  return common.recurrent(common.get_config(variant), 'gru', variant)
