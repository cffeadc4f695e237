"""Semi-supervised sequence learning on IMDB, in the shape of Dai & Le (2015), Table 1.

  make ablate SWEEP=semi_supervised_imdb    # 3 seeds per row

Every row classifies IMDB reviews (configs/classify/imdb_*.py: the first 400 tokens of each review, 25,000
words; valid = 10% of train by a hash of the text; test = the 25,000 test reviews). Pretraining runs once per
model, on IMDB's own text only: the training reviews outside valid and the 50,000 unlabeled reviews
(data.pretrain_corpus=imdb), never a test review. Rows:
  lstm_scratch    the LSTM from random initialization
  lm_lstm         the LSTM initialized from a language model of the text (Dai & Le's LM-LSTM)
  sa_lstm         the LSTM initialized from a sequence autoencoder (SA-LSTM)
  gpt_scratch     a GPT-1-style Transformer (4 layers, width 256) from random initialization
  gpt_pretrained  the same Transformer initialized from a causal LM of the text
The reference column is 100 minus Dai & Le's test error (%): LSTM 13.50, LM-LSTM 7.64, SA-LSTM 7.24.
"""

# One fine-tuning recipe per model family for the rows with and without pretraining, so the table compares
# initializations. The LSTM keeps configs/classify/lstm.py's recipe (Adam 1e-3, clipping at 5, dropout 0.5,
# the best valid epoch of 10); the Transformer its (AdamW, warm-up and cosine, the best of 10 epochs).
LSTM = 'configs/classify/imdb_lstm.py'
GPT = 'configs/classify/imdb_gpt.py'
ROWS = (
    ('lstm_scratch', LSTM, None, 100 - 13.50),
    ('lm_lstm', LSTM, 'lstm_lm', 100 - 7.64),
    ('sa_lstm', LSTM, 'sa_lstm', 100 - 7.24),
    ('gpt_scratch', GPT, None, None),
    ('gpt_pretrained', GPT, 'gpt_lm', None),
)


def get_sweep():
  rows = []
  for name, config, pretrained, reference in ROWS:
    row = dict(name=name, config=config, overrides={}, reference=reference)
    if pretrained:
      row['init_from'] = pretrained
    rows.append(row)
  return dict(
      seeds=3,
      metrics=('test/accuracy', 'valid/accuracy', 'model/params', 'train/seconds'),
      reference_metric='test/accuracy',
      reference_source='Dai & Le (2015), Table 1: 100 - test error',
      pretraining={'sa_lstm': dict(config='configs/pretrain/imdb_lstm.py'),
                   'lstm_lm': dict(config='configs/pretrain/imdb_lstm.py', overrides={'task.objective': 'causal'}),
                   'gpt_lm': dict(config='configs/pretrain/imdb_gpt.py')},
      rows=rows,
  )
