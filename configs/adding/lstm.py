"""Adding problem with a LSTM of 100 units (T from --config.data.length, default 100).

  python train.py --config=configs/adding/lstm.py --workdir=runs/adding_lstm --config.data.length=200
"""
from configs.adding import common


def get_config(variant=''):
  return common.get_config('lstm', variant)
