"""The Stanford Sentiment Treebank in the shape of Socher et al. (2013) Table 1 and Tai et al. (2015) Table 2:
fine-grained (sst5) and binary (sst2_trees) root accuracy, every model from random word vectors.

  make ablate SWEEP=sst_treebank       # 3 seeds per row

The recursive models (configs/sst/) train on every labeled node of the training trees; the sentence
classifiers (configs/classify/) on every labeled phrase as its own example (data.phrases), as Kim (2014) did
for SST. Dev and test score the sentences (roots); the best dev epoch is evaluated on test. phrase_accuracy:
every labeled node of the test trees (the recursive models only).
"""

ROWS = (
    ('recnn', 'configs/sst/recnn.py', {}),
    ('rntn', 'configs/sst/rntn.py', {}),
    ('tree_lstm', 'configs/sst/tree_lstm.py', {}),
    # Phrases multiply the examples (sst5: 318,582 from 8,544 sentences; sst2_trees: 84,440 from 6,920), so
    # fewer epochs than on sentences alone.
    ('kim_cnn_phrases', 'configs/classify/kim_cnn.py', {'data.phrases': True, 'train.num_epochs': 5}),
    ('bilstm_phrases', 'configs/classify/bilstm.py', {'data.phrases': True, 'train.num_epochs': 5}),
)
# Root accuracy in %: Socher et al. (2013) Table 1 (RNN, RNTN), Kim (2014) Table 2 (CNN-rand), Tai et al.
# (2015) Table 2 (constituency Tree-LSTM, randomly initialized vectors).
REFERENCE = {('recnn', 'sst5'): 43.2, ('recnn', 'sst2_trees'): 82.4,
             ('rntn', 'sst5'): 45.7, ('rntn', 'sst2_trees'): 85.4,
             ('kim_cnn_phrases', 'sst5'): 45.0, ('kim_cnn_phrases', 'sst2_trees'): 82.7,
             ('tree_lstm', 'sst5'): 43.9, ('tree_lstm', 'sst2_trees'): 82.0}


def get_sweep():
  rows = []
  for name, config, overrides in ROWS:
    for dataset in ('sst5', 'sst2_trees'):
      rows.append(dict(name=f'{name}_{dataset}', group=name, task=dataset, config=config,
                       overrides=dict(overrides, **{'data.name': dataset}), reference=REFERENCE.get((name, dataset))))
  return dict(
      seeds=3,
      metrics=('test/accuracy', 'test/phrase_accuracy', 'valid/accuracy', 'model/params', 'train/seconds'),
      reference_metric='test/accuracy',
      reference_source=('root accuracy in %: Socher et al. (2013) Table 1 (RNN, RNTN), Kim (2014) Table 2 '
                        '(CNN-rand), Tai et al. (2015) Table 2 (constituency Tree-LSTM, random vectors)'),
      rows=rows,
  )
