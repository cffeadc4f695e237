"""Part-of-speech tagging on Universal Dependencies English EWT: UPOS and XPOS accuracy on the test set, gold
tokenization, every word scored, random word vectors; OOV: the test words that the training split lacks.

  make ablate SWEEP=ud_pos       # 3 seeds per row

The word-only BiLSTM against the word + character BiLSTM (Plank et al. 2016) shows what reading a word's
spelling gives the words never seen in training; the CRF row replaces the per-word softmax by a linear-chain
CRF (Viterbi decoding); the Transformer row is the small BERT-style encoder trained from scratch.
"""

ROWS = (
    ('char_bilstm', 'configs/tag/char_bilstm.py', {}),
    ('bilstm', 'configs/tag/bilstm.py', {}),
    ('char_bilstm_crf', 'configs/tag/char_bilstm.py', {'model.crf': True}),
    ('transformer', 'configs/tag/transformer.py', {}),
)
# UPOS accuracy in %, English EWT test, gold tokenization: the word + character bi-LSTM of Plank et al. (2016),
# their released tagger (bilty, bplank/bilstm-aux README: UD 1.3, 20 iterations, 1 layer, no pretrained vectors).
REFERENCE = {'char_bilstm': 94.6}
REFERENCE_SOURCE = ('UPOS % on the English (EWT) test set, gold tokenization: Plank et al. (2016) word+char bi-LSTM, '
                    'their bilty release on UD 1.3 (bplank/bilstm-aux README)')


def get_sweep():
  return dict(
      seeds=3,
      metrics=('test/upos', 'test/upos_oov', 'test/xpos', 'test/xpos_oov', 'valid/upos', 'model/params',
               'train/seconds'),
      reference_metric='test/upos',
      reference_source=REFERENCE_SOURCE,
      rows=[dict(name=name, config=config, overrides=overrides, reference=REFERENCE.get(name))
            for name, config, overrides in ROWS],
  )
