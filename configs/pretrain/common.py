"""Language-model pretraining of a classifier config: same model fields, unlabeled sentences.

The unlabeled corpus (data.pretrain_corpus) defaults to the text of SST-2's training file, of MR and
of Multi30k's English side (lower-cased, punctuation split); labels are never read. MR's and SST-2's
sentences come from the same Rotten Tomatoes snippets, so this text includes sentences that are test
sentences of some MR fold or of SST-2: unsupervised, but not held out. Fine-tune with
--config.init_from=WORKDIR on the classifier config of the same name.
"""


def pretraining(c, objective: str, variant: str):
  c.task.name = 'pretrain'
  c.task.objective = objective  # causal (next token), mlm (BERT's masked LM), autoencoder, bilm (ELMo).
  c.task.mask_rate = 0.15  # mlm: share of the real tokens chosen (80% [MASK], 10% random, 10% kept).
  # mlm: BERT's next-sentence prediction too, on pairs A [SEP] B of a corpus of documents (data.pretrain_corpus
  # imdb, or a file of blank-line-separated documents); needs model.segments.
  c.task.nsp = False
  c.task.infill_rate = 0.3  # bart: share of a document's tokens in masked spans (Lewis et al.: 30%).
  c.task.span_poisson = 3.0  # bart: λ of the spans' Poisson lengths.
  c.data.pretrain_valid = 2000  # Sentences held out for validation.
  c.data.min_count = 2
  c.eval.splits = 'valid'
  c.eval.select_metric = ''
  c.train.batch_size = 64
  c.train.num_epochs = 10
  c.checkpoint.every_steps = 500
  c.eval.every_steps = 1000
  if variant == 'tiny':
    c.data.pretrain_corpus = 'sst2'
    c.data.pretrain_valid = 64
    c.train.num_epochs = 0
    c.train.num_steps = 4
    c.eval.every_steps = 2
    c.checkpoint.every_steps = 2
  return c
