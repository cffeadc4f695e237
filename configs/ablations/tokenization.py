"""One LSTM LM (2 × 290, as in charlm_arch) on char, BPE and unigram tokens of Tiny Shakespeare,
two subword vocabulary sizes each; 1200 steps of 32 × 128 tokens (so subword rows see more text).
bpc is over the characters of the test text, so the rows compare.

  make ablate SWEEP=tokenization
"""

BASE = {'train.num_steps': 1200, 'model.dropout': 0.1, 'model.hidden_sizes': (290, 290),
        'eval.every_steps': 200, 'checkpoint.every_steps': 200}


def get_sweep():
  rows = [dict(name='char', config='configs/charlm/lstm.py', overrides=dict(BASE))]
  for kind in ('bpe', 'unigram'):
    for vocab in (256, 1024):
      rows.append(dict(name=f'{kind}_{vocab}', config='configs/charlm/lstm.py',
                       overrides=dict(BASE, **{'data.tokenizer': kind, 'data.vocab_size': vocab})))
  return dict(seeds=1, metrics=('test/bpc', 'test/loss'), reference_metric='test/bpc',
              reference_source='no reference column: a comparison of tokenizations', rows=rows)
