"""Shared settings of text classification (SST-2, SST-5, MR or IMDB) with randomly initialized word embeddings.

data.name: sst2 (train / dev / test files, model selection on dev), sst5 or sst2_trees (the Stanford
Sentiment Treebank's trees, the same splits: 5 classes, or 2 with neutral sentences dropped; data.phrases
adds every labeled phrase to training), mr (10-fold cross-validation: data.fold is the test fold; valid is
10% of the other folds) or imdb (review documents: train and test files, valid 10% of train chosen by
hashing each review; configs/classify/imdb_lstm.py). The final
evaluation uses the parameters of the best valid accuracy (early stopping on dev, as Kim 2014).
"""
from configs import common

VARIANTS = ('', 'tiny')


def get_config(variant=''):
  """variant 'tiny': a few steps on a few sentences, for tests."""
  common.check_variant(variant, VARIANTS)
  c = common.get_config()
  c.task.name = 'classification'
  c.task.lm_weight = 0.0  # λ of the auxiliary causal LM loss (GPT-1 fine-tuning: 0.5).
  c.task.max_norm = 0.0  # > 0: each class's output weight vector is rescaled to this L2 norm at most.
  c.task.word_dropout = 0.0  # Training only: each real token becomes <unk> with this probability.
  # Knowledge distillation (tasks/distillation.py): a trained classification workdir whose predictions the
  # student also fits; '' = off.
  c.task.distill_from = ''
  c.task.distill_loss = 'ce'  # ce: cross-entropy to its softmax at temperature τ, times τ²; mse: of the logits.
  c.task.distill_alpha = 0.5  # α: weight of the hard labels' cross-entropy; 1 - α of the teacher's targets.
  c.task.distill_temperature = 2.0  # τ (ce only).
  # Where the teacher's logits are kept, by a hash of teacher, step and texts; '' = TEACHER/distilled_logits.
  c.task.distill_cache = ''

  # sst2, sst5, sst2_trees, mr, imdb, or files (data.train_path/valid_path/test_path, or data.path with folds).
  c.data.name = 'sst2'
  # sst5 and sst2_trees: train on every labeled phrase of the training trees (Socher et al. 2013 label each
  # node), not only the sentences; dev and test still score sentences. An error with another dataset.
  c.data.phrases = False
  c.data.fold = 0  # k-fold sets: the test fold.
  c.data.num_folds = 10
  c.data.split_seed = 0  # Fixes the folds and the valid draw, the same for every training seed.
  # k-fold sets: share of the training folds held out for model selection; imdb: of train, by a hash of the text.
  c.data.valid_fraction = 0.1
  c.data.train_path = ''
  c.data.valid_path = ''
  c.data.test_path = ''
  c.data.path = ''
  # A registered text normalizer applied as the files are read: '' (as written), 'kim', or 'lowercase_split'
  # (raw text: lower-cased, punctuation split off as the sentiment files are).
  c.data.clean = ''
  c.data.min_count = 1  # Words seen fewer times in training become <unk>.
  c.data.max_vocab = 0  # Cap on the vocabulary, the 4 special ids included; 0 = none.
  c.data.max_len = 0  # Examples keep their first max_len tokens (the start of a review); 0 = all.
  c.data.min_len = 1  # Batches are at least this long (the widest convolution).
  c.data.pad_multiple = 8
  # Training batches are cut from length-sorted pools of this many batches (similar lengths share a batch:
  # little padding); 1 = batches of uniformly random sentences, as Kim (2014) draws them.
  c.data.pool_batches = 100
  c.data.pretrain_corpus = 'sst2,mr,multi30k'  # Pretraining only: see configs/pretrain.
  c.data.pretrain_exclude = ''  # Pretraining (and distill_corpus): sentences dropped from it, e.g. sst2_eval.
  # Distillation: unlabeled text the teacher labels for the student (entries as data.pretrain_corpus's).
  c.data.distill_corpus = ''
  c.data.distill_max_texts = 0  # At most this many of its texts (a fixed subset); 0 = all.

  c.train.batch_size = 50
  c.train.num_epochs = 10
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 1e-3
  c.eval.every_steps = 0  # Every epoch.
  c.eval.batch_size = 256
  c.eval.select_metric = 'accuracy'
  c.checkpoint.every_steps = 0
  c.log.every_steps = 50
  if variant == 'tiny':
    common.tiny_sentence_run(c)
  return c


def imdb(c, variant: str, max_len: int = 400):
  """IMDB reviews (data.name=imdb) as every IMDB config reads them: raw text lower-cased with punctuation split
  off, each review's first max_len tokens, the 25,000 most frequent words (the 4 reserved ids included)."""
  c.data.name = 'imdb'
  c.data.clean = 'lowercase_split'  # Raw text: "Great film!<br />" -> "great film !".
  c.data.max_len = max_len
  if not variant:
    c.data.max_vocab = 25_000
  return c
