"""Pretraining objectives under one budget, in the shape of T5's objective comparison (Raffel et al. 2019,
Table 4): one corpus (IMDB's text), one Transformer size, objectives none / causal LM / masked LM / masked LM +
next-sentence prediction / BART denoising, and for the BiLSTM none / ELMo features; each fine-tuned on SST-2 and
on IMDB.

  make ablate SWEEP=pretraining_objectives    # 3 seeds per row

Pretraining runs once per objective (WORKDIR/pretrain/NAME), on IMDB's training reviews outside the IMDB
classifier's valid split and the 50,000 unlabeled reviews (data.pretrain_corpus=imdb; never a test review),
less every sentence of SST-2's dev and test files; vocabulary the 16,000 most frequent words; batch 32; steps
sized for about an hour each on the 2-core CPU (measured 2026-12-07 under load: GPT 2.9 s per step, the
masked-LM encoder 2.8, BART 3.8, the biLM 5.2; about half of that on an idle machine):
  causal   configs/pretrain/gpt.py: the GPT-1-style decoder (4 layers, width 256), next token
  mlm      configs/pretrain/mlm.py: the BERT-style encoder (4 layers, width 256), 15% of the tokens masked
  mlm_nsp  configs/pretrain/mlm_nsp.py: the same, plus next-sentence prediction on sentence pairs of a review
  bart     configs/pretrain/bart.py: the encoder-decoder (2 + 2 layers, width 256), sentences permuted and
           Poisson(3) spans infilled
  elmo     configs/pretrain/elmo.py: the biLM (2 layers of 256 per direction)
Rows (group): none (the encoder from scratch), none_gpt and none_bart (the decoder and the encoder-decoder from
scratch), causal, mlm, mlm_nsp, bart, bilstm (from scratch) and elmo (the BiLSTM with ELMo features), each on
sst2 and imdb (the first 127 tokens of each review, 3 epochs). Fine-tuning a pretrained Transformer: 3 epochs
at 3e-4 (GPT-1's recipe, chosen on SST-2 dev in gpt1_ablation); from scratch the configs' own (10 epochs at
1e-4 on SST-2); the BiLSTM and ELMo rows the BiLSTM config's (Adam 1e-3, 10 epochs on SST-2).
The table by task gives each group's SST-2 / IMDB / average test accuracy and its gain over `none`.
"""

PRETRAIN = {'data.pretrain_corpus': 'imdb', 'data.clean': 'lowercase_split', 'data.pretrain_exclude': 'sst2_eval',
            'data.max_vocab': 16_000, 'data.max_len': 127, 'data.pretrain_valid': 2000, 'train.batch_size': 32,
            'train.num_epochs': 0, 'eval.every_steps': 500, 'checkpoint.every_steps': 250}


def PRETRAINING_OVERRIDES(steps: int) -> dict:  # pylint: disable=invalid-name  (read by the distillation sweep)
  return dict(PRETRAIN, **{'train.num_steps': steps})
PRETRAINING = {
    'causal': ('configs/pretrain/gpt.py', 2000, {'data.max_len': 128}),
    'mlm': ('configs/pretrain/mlm.py', 2000, {}),
    'mlm_nsp': ('configs/pretrain/mlm_nsp.py', 2000, {}),
    'bart': ('configs/pretrain/bart.py', 1500, {}),
    'elmo': ('configs/pretrain/elmo.py', 1200, {}),
}
FINE_TUNE = {'train.num_epochs': 3, 'optimizer.learning_rate': 3e-4}
# group: (fine-tuning config, pretraining run or None, overrides).
GROUPS = {
    'none': ('configs/classify/transformer.py', None, {}),
    'none_gpt': ('configs/classify/gpt.py', None, {}),
    'none_bart': ('configs/classify/bart.py', None, {}),
    'causal': ('configs/classify/gpt.py', 'causal', FINE_TUNE),
    'mlm': ('configs/classify/transformer.py', 'mlm', FINE_TUNE),
    'mlm_nsp': ('configs/classify/transformer.py', 'mlm_nsp', dict(FINE_TUNE, **{'model.segments': True})),
    'bart': ('configs/classify/bart.py', 'bart', FINE_TUNE),
    'bilstm': ('configs/classify/bilstm.py', None, {}),
    'elmo': ('configs/classify/elmo.py', 'elmo', {}),
}
# IMDB as the Transformers read it: raw text lower-cased and split, the first 127 tokens (the GPT: 128), 3 epochs.
IMDB = {'data.name': 'imdb', 'data.clean': 'lowercase_split', 'data.max_len': 127, 'data.max_vocab': 16_000,
        'train.num_epochs': 3}


def get_sweep():
  rows = []
  for task in ('sst2', 'imdb'):
    for group, (config, pretrained, overrides) in GROUPS.items():
      overrides = dict(overrides, **(IMDB if task == 'imdb' else {'data.name': 'sst2'}))
      if task == 'imdb' and 'gpt' in config:
        overrides['data.max_len'] = 128
      row = dict(name=f'{group}_{task}', group=group, task=task, config=config, overrides=overrides)
      if pretrained:
        row['init_from'] = pretrained
      rows.append(row)
  pretraining = {name: dict(config=config, overrides=dict(PRETRAINING_OVERRIDES(steps), **extra))
                 for name, (config, steps, extra) in PRETRAINING.items()}
  return dict(
      seeds=3,
      metrics=('test/accuracy', 'valid/accuracy', 'model/params', 'train/seconds'),
      reference_metric='test/accuracy',
      reference_source='no reference column: T5 compares objectives on other tasks and scales',
      baseline='none',
      pretraining=pretraining,
      rows=rows,
  )
