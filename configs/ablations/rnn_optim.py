"""Remedies for vanishing and exploding gradients: Elman RNN and LSTM (1 × 256, char LM on Tiny
Shakespeare, 600 steps of 32 × 128) × {SGD, Nesterov momentum, RMSProp, Adam} × {no clipping,
global-norm clipping at 1}. A run whose loss turns non-finite is reported as diverged.

  make ablate SWEEP=rnn_optim
"""

OPTIMIZERS = {  # name -> learning rate, each a common choice for the optimizer.
    'sgd': 1.0, 'nesterov': 0.1, 'rmsprop': 2e-3, 'adam': 2e-3,
}
MODELS = {'elman': 'configs/charlm/rnn.py', 'lstm': 'configs/charlm/lstm.py'}


def get_sweep():
  rows = []
  for model, path in MODELS.items():
    for optimizer, lr in OPTIMIZERS.items():
      for clip in (0.0, 1.0):
        rows.append(dict(
            name=f'{model}_{optimizer}_{"clip1" if clip else "noclip"}', config=path,
            overrides={'model.hidden_sizes': (256,), 'model.dropout': 0.0, 'train.num_steps': 600,
                       'optimizer.name': optimizer, 'optimizer.learning_rate': lr, 'optimizer.clip_norm': clip,
                       'schedule.name': 'constant', 'eval.every_steps': 200, 'checkpoint.every_steps': 200}))
  return dict(seeds=1, metrics=('test/bpc', 'diverged'), reference_metric='test/bpc',
              reference_source='no reference column: a comparison of remedies', rows=rows)
