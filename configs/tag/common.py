"""Shared settings of part-of-speech tagging (task 'tag') on Universal Dependencies English EWT.

data.name: ud_english_ewt (the treebank's train / dev / test files; gold tokenization) or files (any CoNLL-U
treebank: data.train_path, data.valid_path, data.test_path). Every model predicts UPOS and XPOS; the final
evaluation uses the parameters of the best dev UPOS accuracy. Word vectors are random (no pretrained
embeddings) unless init_from names a pretrained run.
"""
from configs import common

VARIANTS = ('', 'tiny')


def get_config(variant=''):
  """variant 'tiny': a few steps of a small model, for tests."""
  common.check_variant(variant, VARIANTS)
  c = common.get_config()
  c.task.name = 'tag'
  c.task.word_dropout = 0.25  # Training only: each word becomes <unk> with this probability.

  c.data.name = 'ud_english_ewt'  # ud_english_ewt or files.
  c.data.train_path = ''  # data.name=files: CoNLL-U files (plain or .gz).
  c.data.valid_path = ''
  c.data.test_path = ''
  c.data.min_count = 1  # Training words seen fewer times become <unk>.
  c.data.max_vocab = 0  # Cap on the vocabulary, the 4 special ids included; 0 = none.
  c.data.max_word_len = 16  # Characters per word (every batch's width): longer ones keep their first and last 8.
  c.data.lowercase = False  # Word ids of the lower-cased words (a lower-cased pretrained vocabulary); chars keep case.
  c.data.pad_multiple = 8
  c.data.pool_batches = 100  # Sentences of similar length share a batch (little padding).

  c.model.crf = False  # A linear-chain CRF over each tag set (forward algorithm loss, Viterbi decoding).
  c.model.dropout = 0.33
  c.model.dtype = 'float32'  # float32 or bfloat16 matmul operands; params, states, logits: float32 (precision.py).

  c.train.batch_size = 32
  c.train.num_epochs = 10
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 2e-3
  c.optimizer.b2 = 0.9  # Dozat & Manning's (2017) Adam for BiLSTM taggers and parsers.
  c.optimizer.clip_norm = 5.0
  c.schedule.name = 'warmup_cosine'  # To 0 at the last step.
  c.schedule.warmup_steps = 200
  c.eval.every_steps = 0  # Every epoch.
  c.eval.batch_size = 128
  c.eval.select_metric = 'upos'
  c.checkpoint.every_steps = 0
  c.log.every_steps = 100
  if variant == 'tiny':
    common.tiny_sentence_run(c)
    c.schedule.warmup_steps = 2
  return c
