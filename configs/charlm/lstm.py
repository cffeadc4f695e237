"""LSTM char LM on Tiny Shakespeare: 2 × 512 LSTM, 3.3M parameters, dropout 0.25, Adam with cosine decay.

  python train.py --config=configs/charlm/lstm.py --workdir=runs/charlm_lstm

Target: test loss <= 1.50 nats/char within one hour on the 2-core CPU.
Measured 2026-12-01 (idle 2-core CPU, 14 min 09 s wall, evaluations included): test loss
1.4915 nats/char (2.152 bpc), valid 1.3495 (1.947 bpc).
"""
from configs.charlm import common


def get_config(variant=''):
  return common.recurrent(common.get_config(variant), 'lstm', variant)
