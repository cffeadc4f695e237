"""Language modelling: next-token cross-entropy over a token stream.

Metrics: loss in nats per token, perplexity, and bits per character over the
characters of the evaluated text, so char, word and subword models compare.
Training windows of a contiguous stream carry the recurrent state from one
window to the next with the gradient stopped at the boundary (truncated BPTT).
"""
import math
import os

import jax
import jax.numpy as jnp
import optax

from configs import checks
from data import corpus
from data import files
from data import lm_batching
from data import token_cache
from data import tokenizers
from tasks import base
from tasks import registry

BATCHINGS = ('stream', 'random')
TOKENS_DIR = 'tokens'  # The token cache inside a workdir, when data.cache_dir is not set.


def tokenizer_dir(workdir: str) -> str:
  return os.path.join(workdir, 'tokenizer')


def _sums(logits_BTV, batch):
  weight_BT = batch['weight']
  nll_BT = optax.softmax_cross_entropy_with_integer_labels(logits_BTV, batch['targets']) * weight_BT
  return {'loss': (nll_BT.sum(), weight_BT.sum())}


def _continue(carry, batch):
  # A window that starts a pass over the stream (or a random window) starts from zeros.
  reset = batch.get('reset', jnp.asarray(True))
  return jax.tree.map(lambda c: jnp.where(reset, jnp.zeros_like(c), c), carry)


def train_loss(model, params, batch, carry, rng, norm_stabilizer: float = 0.0):
  """(mean nll over the batch's real tokens + the norm-stabilizer's penalty, (metric sums, carry)), with dropout
  on."""
  carry = jax.lax.stop_gradient(_continue(carry, batch))  # Truncated BPTT.
  (logits_BTV, carry), penalty = base.apply_with_norm_stabilizer(
      model, {'params': params}, norm_stabilizer, batch['inputs'], carry, train=True, rngs={'dropout': rng})
  sums = _sums(logits_BTV, batch)
  total, count = sums['loss']
  return total / jnp.maximum(count, 1.0) + penalty, (sums, carry)


class LossOnly:
  """The LM task's training loss and the base hooks, without a corpus: for timing the real train step
  (loop.make_train_step) on synthetic batches (bench/)."""
  loss = staticmethod(lambda model, params, batch, carry, rng, step: train_loss(model, params, batch, carry, rng))
  loss_weight = base.Task.loss_weight
  project_params = base.Task.project_params


@registry.register('lm')
class LMTask(base.Task):
  datasets = corpus.NAMES
  placeholder_dims = {'vocab_size': 2, 'seq_len': 8}
  supports_norm_stabilizer = True

  @staticmethod
  def check_config(config) -> None:
    checks.check_choice(config.data.batching, BATCHINGS, 'data.batching')
    if config.data.seq_len < 1:
      raise ValueError(f'data.seq_len must be >= 1; got {config.data.seq_len}.')
    corpus.check_split(config.data.split)
    if config.data.tokenizer_sample_chars < 0:
      raise ValueError(f'data.tokenizer_sample_chars must be >= 0 (0: all the training text); '
                       f'got {config.data.tokenizer_sample_chars}.')

  def __init__(self, config, workdir: str, resuming: bool = False):
    self.config = config.data
    self.norm_stabilizer = config.task.get('norm_stabilizer', 0.0)
    splits = corpus.splits(config.data)
    # The vocabulary comes from a bounded prefix of the training text, so its cost does not grow with the corpus.
    sample = splits['train'].prefix(config.data.tokenizer_sample_chars)
    # A resumed run keeps the vocabulary it trained with; a stale one (other text or settings) is refused.
    source = {'tokenizer': config.data.tokenizer, 'vocab_size': config.data.vocab_size,
              'lowercase': config.data.lowercase, 'train_text_sha256': tokenizers.text_fingerprint([sample])}
    self.tokenizer = tokenizers.load_or_build(
        tokenizer_dir(workdir), source, rebuild_stale=not resuming, write=jax.process_index() == 0,
        build=lambda: tokenizers.build_tokenizer(config.data.tokenizer, sample,
                                                 vocab_size=config.data.vocab_size, lowercase=config.data.lowercase))
    cache_dir = config.data.cache_dir or os.path.join(workdir, TOKENS_DIR)
    streams = {part: token_cache.tokenize(split, self.tokenizer, cache_dir, prune=not config.data.cache_dir)
               for part, split in splits.items()}
    self.ids = {part: stream.ids for part, stream in streams.items()}
    for part, split in splits.items():
      # Training needs one window (random) or two tokens per row (stream); evaluation one prediction.
      needed = (config.data.seq_len + 1 if config.data.batching == 'random' else 2 * config.train.batch_size
                ) if part == 'train' else 2
      if len(self.ids[part]) < needed:
        raise files.DataError(
            f'The {part} split ({split.describe()}) holds {len(self.ids[part])} tokens; it needs at least {needed} '
            f'(check the files, data.split and data.max_chars).')
    # Predicted tokens per character of each split, to turn nats/token into bits/char.
    self.tokens_per_char = {part: (len(self.ids[part]) - 1) / max(stream.num_chars, 1)
                            for part, stream in streams.items()}
    self.model_dims = {'vocab_size': self.tokenizer.vocab_size, 'seq_len': config.data.seq_len}

  def train_batcher(self, batch_size: int, seed: int):
    if self.config.batching == 'stream':
      return lm_batching.StreamBatcher(self.ids['train'], batch_size, self.config.seq_len)
    return lm_batching.RandomWindowBatcher(self.ids['train'], batch_size, self.config.seq_len, seed)

  def eval_batches(self, split: str, batch_size: int):
    return lm_batching.eval_stream_batches(self.ids[split], batch_size, self.config.seq_len)

  def init_carry(self, model, batch_size: int):
    return model.initial_carry(batch_size)

  def init_variables(self, model, rng, batch, carry):
    return model.init(rng, batch['inputs'], carry)

  def loss(self, model, params, batch, carry, rng, step):
    return train_loss(model, params, batch, carry, rng, self.norm_stabilizer)

  def eval_metrics(self, model, params, batch, carry):
    # Evaluation walks each split's stream once from a zero state, carrying it throughout.
    logits_BTV, carry = model.apply({'params': params}, batch['inputs'], carry)
    return _sums(logits_BTV, batch), carry

  def summarize(self, split: str, metrics: dict) -> dict:
    loss = metrics['loss']
    return dict(metrics, ppl=math.exp(min(loss, 700.0)), bpc=loss * self.tokens_per_char[split] / math.log(2))

  def default_max_loss(self) -> float:
    # 100 times the loss of predicting every token uniformly: far past any run that is still learning.
    return 100.0 * math.log(self.tokenizer.vocab_size)

  def fit(self, model) -> None:
    model.fit(self.ids['train'])

  def count_based_loss(self, model, split: str) -> float:
    return float(-model.log_probs(self.ids[split]).mean())
