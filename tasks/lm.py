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
from data import tokenizers
from tasks import base
from tasks import registry

BATCHINGS = ('stream', 'random')


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


def train_loss(model, params, batch, carry, rng):
  """(mean nll over the batch's real tokens, (metric sums, carry)), with dropout on."""
  carry = jax.lax.stop_gradient(_continue(carry, batch))  # Truncated BPTT.
  logits_BTV, carry = model.apply({'params': params}, batch['inputs'], carry, train=True, rngs={'dropout': rng})
  sums = _sums(logits_BTV, batch)
  total, count = sums['loss']
  return total / jnp.maximum(count, 1.0), (sums, carry)


@registry.register('lm')
class LMTask(base.Task):
  datasets = tuple(corpus.CORPORA)
  placeholder_dims = {'vocab_size': 2, 'seq_len': 8}

  @staticmethod
  def check_config(config) -> None:
    checks.check_choice(config.data.batching, BATCHINGS, 'data.batching')
    if config.data.seq_len < 1:
      raise ValueError(f'data.seq_len must be >= 1; got {config.data.seq_len}.')

  def __init__(self, config, workdir: str, resuming: bool = False):
    self.check_config(config)
    self.config = config.data
    texts = corpus.load_corpus(config.data)
    for split, text in texts.items():
      if len(text) < 2:  # One token predicts nothing: no loss, no metric.
        raise files.DataError(f'The {split} split of data.name={config.data.name!r} holds {len(text)} characters; '
                              'it needs at least 2 (check data.max_chars and the corpus file).')
    # A resumed run keeps the vocabulary it trained with; a stale one (other text or settings) is refused.
    source = {'tokenizer': config.data.tokenizer, 'vocab_size': config.data.vocab_size,
              'lowercase': config.data.lowercase, 'train_text_sha256': tokenizers.text_fingerprint([texts['train']])}
    self.tokenizer = tokenizers.load_or_build(
        tokenizer_dir(workdir), source, rebuild_stale=not resuming, write=jax.process_index() == 0,
        build=lambda: tokenizers.build_tokenizer(config.data.tokenizer, texts['train'],
                                                 vocab_size=config.data.vocab_size, lowercase=config.data.lowercase))
    self.ids = {split: self.tokenizer.encode(text) for split, text in texts.items()}
    # Predicted tokens per character of each split, to turn nats/token into bits/char.
    self.tokens_per_char = {split: (len(self.ids[split]) - 1) / max(len(text), 1) for split, text in texts.items()}
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
    return train_loss(model, params, batch, carry, rng)

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
