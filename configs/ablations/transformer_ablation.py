"""Transformer variations on char-level Tiny Shakespeare, in the manner of Vaswani et al. (2017), Table 3.

  make ablate SWEEP=transformer_ablation

Every row is configs/charlm/gpt.py (nanoGPT's CPU recipe: 4 layers, 4 heads, width 128, context 64,
batch 12, 2000 steps = 1.54M training characters) with one thing changed; the last row is the LSTM of
configs/charlm/lstm.py at about the same parameter count (2 × 245, 0.81M) trained on the same
characters (2000 windows of 12 × 64, stream batching, no dropout). Valid = the whole last 10%.
train/seconds is the wall-clock of the training steps (evaluation excluded, compilation included).
"""

GPT = 'configs/charlm/gpt.py'


def _row(name, **overrides):
  return dict(name=name, config=GPT, overrides={f'model.{k}': v for k, v in overrides.items()})


def get_sweep():
  lstm_budget = {'model.hidden_sizes': (245, 245), 'model.dropout': 0.0, 'data.split': 'nanogpt',
                 'data.seq_len': 64, 'train.batch_size': 12, 'train.num_steps': 2000, 'eval.splits': 'valid',
                 'eval.batch_size': 64, 'eval.every_steps': 250, 'checkpoint.every_steps': 250}
  return dict(
      seeds=1,
      metrics=('valid/bpc', 'valid/loss', 'model/params', 'train/seconds'),
      reference_metric='valid/loss',
      reference_source=('nanoGPT README, baby GPT on CPU (4 × 128, context 64): validation loss 1.88; '
                        'the base row only'),
      rows=[
          dict(name='base', config=GPT, overrides={}, reference=1.88),
          _row('heads_1', num_heads=1),
          _row('heads_8', num_heads=8),
          _row('depth_2', depth=2),
          _row('depth_6', depth=6),
          _row('width_64', width=64),
          _row('width_256', width=256),
          _row('positional_sinusoidal', positional='sinusoidal'),
          _row('positional_none', positional='none'),
          _row('post_ln', norm='post'),
          _row('relu', activation='relu'),
          _row('dropout_0.1', dropout=0.1, attention_dropout=0.1),
          _row('dropout_0.2', dropout=0.2, attention_dropout=0.2),
          dict(name='lstm_2x245', config='configs/charlm/lstm.py', overrides=lstm_budget),
      ],
  )
