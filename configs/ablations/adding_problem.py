"""The adding problem (Le et al. 2015, Fig. 2) at T = 50, 100, 200, 400 for four recurrent cells.

  make ablate SWEEP=adding_problem

One budget for every row: 100 units, Adam 1e-3, global-norm clipping at 1,
batch 32, 3000 steps (96k sequences). Reports test MSE and the first
evaluated step (every 100) with validation MSE below 0.01. Le et al. trained
for far longer (up to ~10^6 steps), so long-T rows that stay near 0.167 here
may still learn with more steps.
"""

CELLS = {'rnn': 'configs/adding/rnn.py', 'irnn': 'configs/adding/irnn.py',
         'gru': 'configs/adding/gru.py', 'lstm': 'configs/adding/lstm.py'}


def get_sweep():
  return dict(
      seeds=1,
      metrics=('test/mse', 'steps_to_mse_0.01'),
      curve_metrics={'steps_to_mse_0.01': ('valid/mse', 0.01)},
      reference_metric='test/mse',
      reference_source='always predicting 1 (the expected sum): MSE 1/6 = 0.167, the baseline of Le et al. (2015)',
      rows=[dict(name=f'{cell}_T{length}', config=path, overrides={'data.length': length}, reference=0.167)
            for length in (50, 100, 200, 400) for cell, path in CELLS.items()],
  )
