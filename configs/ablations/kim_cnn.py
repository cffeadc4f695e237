"""Kim (2014) CNN-rand and the other sentence encoders on MR (10-fold cross-validation) and SST-2.

  make ablate SWEEP=kim_cnn          # 3 seeds per row

Every model starts from random word vectors (no pretrained embeddings). MR: each seed's accuracy is the
mean over the 10 test folds (valid = 10% of the other folds, for early stopping). SST-2: trained on the
6920 training sentences only (Kim also trained on the treebank's phrases, which the data here lacks),
the best dev epoch evaluated on test. train/seconds sums the folds.
"""

KIM = 'configs/classify/kim_cnn.py'
ROWS = (('kim_cnn', KIM), ('boe', 'configs/classify/boe.py'), ('lstm', 'configs/classify/lstm.py'),
        ('bilstm', 'configs/classify/bilstm.py'), ('transformer', 'configs/classify/transformer.py'))
REFERENCE = {('kim_cnn', 'mr'): 76.1, ('kim_cnn', 'sst2'): 82.7}


def get_sweep():
  rows = []
  for dataset in ('mr', 'sst2'):
    for name, config in ROWS:
      rows.append(dict(name=f'{name}_{dataset}', group=name, task=dataset, config=config,
                       overrides={'data.name': dataset}, folds=10 if dataset == 'mr' else 0,
                       reference=REFERENCE.get((name, dataset))))
  return dict(
      seeds=3,
      metrics=('test/accuracy', 'valid/accuracy', 'model/params', 'train/seconds'),
      reference_metric='test/accuracy',
      reference_source=('Kim (2014), Table 2, CNN-rand: MR 76.1 (10-fold CV), SST-2 82.7 (trained on phrases '
                        'and sentences; ours on sentences only), accuracy in %'),
      rows=rows,
  )
