"""Géron's time-series table (Hands-On ML, 2nd ed., ch. 15): validation MSE after 20 epochs of Adam.

  make ablate SWEEP=timeseries   # = python ablate.py --sweep=configs/ablations/timeseries.py --workdir=runs/ablate/timeseries

Writes table.md, table.csv and curves.png; docs/results/timeseries.md has the measured table and its runtime.
"""


def get_sweep():
  return dict(
      seeds=3,
      metrics=('valid/mse', 'test/mse'),
      reference_metric='valid/mse',
      reference_source='Géron, Hands-On Machine Learning, 2nd ed., ch. 15 (companion notebook), valid MSE',
      rows=[
          dict(name='naive', config='configs/timeseries/naive.py', reference=0.0202),
          dict(name='dense', config='configs/timeseries/dense.py', reference=0.00417),
          dict(name='simple_rnn', config='configs/timeseries/simple_rnn.py', reference=0.0109),
          dict(name='deep_rnn', config='configs/timeseries/deep_rnn.py', reference=0.00291),
          dict(name='deep_rnn_dense', config='configs/timeseries/deep_rnn_dense.py', reference=0.00262),
      ],
  )
