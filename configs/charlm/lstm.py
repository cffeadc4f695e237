"""LSTM char LM on Tiny Shakespeare: 2 × 512 LSTM, 3.3M parameters, dropout 0.25, Adam with cosine decay.

  python train.py --config=configs/charlm/lstm.py --workdir=runs/charlm_lstm

Target (issue 3): test loss <= 1.50 nats/char within one hour on the 2-core CPU.
Measured: see the README's results section.
"""
from configs.charlm import common


def get_config(variant=''):
  return common.recurrent(common.get_config(variant), 'lstm', variant)
