"""Shared settings of the character-level language models on Tiny Shakespeare.

The corpus splits as char-rnn's: the first 90% of the characters train, the
last 10% is halved into valid and test. Windows of a contiguous stream carry
the recurrent state forward (truncated BPTT).
"""
from configs import common

VARIANTS = ('', 'tiny')


def get_config(variant=''):
  """variant 'tiny': a 20-step run on a 4000-character prefix, for tests."""
  common.check_variant(variant, VARIANTS)
  c = common.get_config()
  c.task.name = 'lm'
  c.data.name = 'tinyshakespeare'  # tinyshakespeare, imdb (reviews, not the test ones), or files (paths below).
  # data.name=files: each a file, a glob or a comma list (plain or .gz). Without valid_path, train_path is cut
  # by data.split; without test_path, test is valid.
  c.data.train_path = ''
  c.data.valid_path = ''
  c.data.test_path = ''
  c.data.split = 'charrnn'  # charrnn: 90/5/5; nanogpt: 90/10, valid = test; or fractions 'A,B,C' of the characters.
  c.data.max_chars = 0  # Use only the first N characters of the corpus; 0 = all.
  c.data.cache_dir = ''  # Where tokenized splits are kept (memory-mapped); '' = the workdir's tokens/.
  c.data.tokenizer = 'char'  # char, word, bpe, unigram.
  c.data.tokenizer_sample_chars = 10_000_000  # The vocabulary is built from this prefix of train; 0 = all of it.
  c.data.vocab_size = 0  # bpe/unigram/word vocabulary cap; must be 0 for char.
  c.data.lowercase = False  # word tokenizer only.
  c.data.seq_len = 128  # Tokens per training window (the BPTT length).
  c.data.batching = 'stream'  # stream: contiguous rows, state carried; random: nanoGPT's random windows.

  c.train.batch_size = 32
  c.train.num_steps = 3000
  # 10 steps per jitted call: a call allocates its scratch memory once, and the kernel zero-fills fresh
  # pages on first touch, so one step per call spends about 10% of the LSTM's step on page faults.
  c.train.steps_per_call = 10
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 2e-3
  c.optimizer.clip_norm = 1.0
  c.schedule.name = 'warmup_cosine'
  c.schedule.warmup_steps = 100
  c.schedule.end_learning_rate = 1e-4
  c.eval.every_steps = 500
  c.eval.batch_size = 32  # Rows the valid/test streams are cut into.
  c.checkpoint.every_steps = 250
  c.log.every_steps = 50
  if variant == 'tiny':
    c.data.max_chars = 4000
    c.data.seq_len = 16
    c.train.batch_size = 4
    c.train.num_steps = 20
    c.train.steps_per_call = 1
    c.eval.every_steps = 10
    c.eval.batch_size = 4
    c.checkpoint.every_steps = 5
    c.log.every_steps = 5
    c.schedule.warmup_steps = 2
  return c


def recurrent(c, cell: str, variant: str):
  """Fields of the recurrent LM; `variant` 'tiny' shrinks it."""
  c.model.name = 'rnn_lm'
  c.model.cell = cell  # elman, irnn, gru, lstm.
  c.model.activation = 'tanh'  # elman only.
  c.model.embed_dim = 64
  c.model.hidden_sizes = (512, 512)  # One recurrent layer per entry.
  c.model.dropout = 0.25  # On embeddings, between layers and before the softmax (Zaremba et al.).
  c.model.tie_embeddings = False  # Needs hidden_sizes[-1] == embed_dim.
  c.model.forget_bias = 1.0  # lstm only.
  c.model.unroll = 1  # lax.scan unroll factor: speed only, same numbers.
  c.model.dtype = 'float32'  # float32 or bfloat16 matmul operands; params, states, logits: float32 (precision.py).
  if variant == 'tiny':
    c.model.embed_dim, c.model.hidden_sizes = 8, (16, 16)
  return c
