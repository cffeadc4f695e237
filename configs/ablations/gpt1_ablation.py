"""Pretraining and the auxiliary LM objective, in the shape of GPT-1's Table 5 (Radford et al. 2018), on
SST-2 and MR (10-fold cross-validation), with the BERT-style masked-LM encoder beside it.

  make ablate SWEEP=gpt1_ablation    # 3 seeds per row

Pretraining (configs/pretrain/*.py) runs once per model on unlabeled text (SST-2's training sentences,
MR and Multi30k's English side; labels unused), then each row fine-tunes for 3 seeds. Rows:
  gpt_pretrained_aux     causal-LM pretrained Transformer, fine-tuned with λ = 0.5 auxiliary LM loss
  gpt_pretrained         the same without the auxiliary loss
  gpt_scratch            the same Transformer, no pretraining
  lstm_pretrained_aux    causal-LM pretrained LSTM, fine-tuned with λ = 0.5
  mlm_encoder            the masked-LM pretrained encoder with a [CLS] head (BERT-style)
"""

ROWS = (
    ('gpt_pretrained_aux', 'configs/classify/gpt.py', 'gpt', {'task.lm_weight': 0.5}),
    ('gpt_pretrained', 'configs/classify/gpt.py', 'gpt', {}),
    ('gpt_scratch', 'configs/classify/gpt.py', None, {}),
    ('lstm_pretrained_aux', 'configs/classify/lstm.py', 'lstm', {'task.lm_weight': 0.5}),
    ('mlm_encoder', 'configs/classify/transformer.py', 'mlm', {}),
)


def get_sweep():
  rows = []
  for dataset in ('sst2', 'mr'):
    for name, config, pretrained, overrides in ROWS:
      row = dict(name=f'{name}_{dataset}', config=config, overrides=dict(overrides, **{'data.name': dataset}),
                 folds=10 if dataset == 'mr' else 0)
      if pretrained:
        row['init_from'] = pretrained
      rows.append(row)
  return dict(
      seeds=3,
      metrics=('test/accuracy', 'valid/accuracy', 'model/params', 'train/seconds'),
      pretraining={'gpt': dict(config='configs/pretrain/gpt.py'), 'lstm': dict(config='configs/pretrain/lstm.py'),
                   'mlm': dict(config='configs/pretrain/mlm.py')},
      rows=rows,
  )
