"""Character LMs on Tiny Shakespeare under one budget: ~1.1M parameters, 1200 steps of 32 × 128
characters (4.9M training characters, ~4.9 epochs), Adam 2e-3 with cosine decay, dropout 0.1.

  make ablate SWEEP=charlm_arch

Kneser–Ney rows count instead of training (orders 3 to 7; the best one is the baseline).
"""

BUDGET = {'train.num_steps': 1200, 'model.dropout': 0.1, 'eval.every_steps': 200, 'checkpoint.every_steps': 200}


def _recurrent(name, path, hidden_size):
  return dict(name=name, config=path, overrides=dict(BUDGET, **{'model.hidden_sizes': (hidden_size, hidden_size)}))


def get_sweep():
  ngrams = [dict(name=f'kneser_ney_{order}', config='configs/charlm/ngram.py', overrides={'model.order': order})
            for order in (3, 5, 6, 7)]
  return dict(
      seeds=1,
      metrics=('test/bpc', 'valid/bpc', 'test/loss', 'model/params'),
      reference_metric='test/bpc',
      reference_source='no published number for this split and budget (model/params is the parameter count)',
      rows=ngrams + [
          dict(name='mlp_16', config='configs/charlm/mlp.py',
               overrides=dict(BUDGET, **{'model.order': 16, 'model.embed_dim': 64, 'model.hidden_size': 1024})),
          _recurrent('elman_2x590', 'configs/charlm/rnn.py', 590),
          _recurrent('irnn_2x590', 'configs/charlm/irnn.py', 590),
          _recurrent('gru_2x340', 'configs/charlm/gru.py', 340),
          _recurrent('lstm_2x290', 'configs/charlm/lstm.py', 290),
      ],
  )
