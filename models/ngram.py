"""Interpolated Kneser–Ney n-gram language model: counts in numpy, no gradient steps.

n-grams are integer keys (base-V digits, the last token least significant), so
counting is np.unique and lookup is np.searchsorted, vectorized over a stream.
Lower orders use continuation counts (how many distinct tokens precede an
n-gram); each order's discount is Ney's estimate D = n1 / (n1 + 2 n2); the
unigram level interpolates with the uniform distribution, so every token of
the vocabulary gets probability and each conditional distribution sums to 1.
"""
import dataclasses

import numpy as np

from models import registry


def _keys(ids: np.ndarray, k: int, vocab_size: int) -> np.ndarray:
  """Keys of the k-grams ending at positions k-1 .. len-1."""
  keys = np.zeros(len(ids) - k + 1, np.int64)
  for j in range(k):
    keys = keys * vocab_size + ids[j:len(ids) - k + 1 + j]
  return keys


def _lookup(table_keys: np.ndarray, table_values: np.ndarray, queries: np.ndarray) -> np.ndarray:
  """table_values[key] for each query key, 0 where absent (table_keys sorted)."""
  if len(table_keys) == 0:
    return np.zeros(len(queries), table_values.dtype)
  index = np.clip(np.searchsorted(table_keys, queries), 0, len(table_keys) - 1)
  return np.where(table_keys[index] == queries, table_values[index], 0)


@dataclasses.dataclass
class _Order:
  """Counts of one order: per n-gram, and per context (n-1 gram) their total and number of distinct successors."""
  gram_keys: np.ndarray
  gram_counts: np.ndarray
  context_keys: np.ndarray
  context_totals: np.ndarray
  context_types: np.ndarray
  discount: float


class KneserNeyLM:
  """Fit on a token stream with `fit(ids)`; `log_probs(ids)` scores every token of a stream after the first."""

  def __init__(self, order: int, vocab_size: int):
    if vocab_size ** order >= 2 ** 62:
      raise ValueError(f'order {order} with vocabulary {vocab_size} overflows 64-bit n-gram keys.')
    self.order, self.vocab_size = order, vocab_size
    self.orders: list[_Order] = []

  def fit(self, ids) -> 'KneserNeyLM':
    ids = np.asarray(ids, np.int64)
    V, n = self.vocab_size, self.order
    self.orders = []
    for k in range(1, n + 1):
      if k == n:  # The highest order counts occurrences ...
        gram_keys, gram_counts = np.unique(_keys(ids, k, V), return_counts=True)
      else:  # ... lower orders count distinct left extensions: continuation counts.
        longer = np.unique(_keys(ids, k + 1, V))
        gram_keys, gram_counts = np.unique(longer % V ** k, return_counts=True)
      n1, n2 = np.sum(gram_counts == 1), np.sum(gram_counts == 2)
      discount = float(n1 / (n1 + 2 * n2)) if n1 + n2 > 0 else 0.5
      context_keys, inverse = np.unique(gram_keys // V, return_inverse=True)
      self.orders.append(_Order(
          gram_keys, gram_counts.astype(np.float64), context_keys,
          np.bincount(inverse, weights=gram_counts).astype(np.float64),
          np.bincount(inverse).astype(np.float64), discount))
    return self

  def _interpolate(self, k: int, context_keys: np.ndarray, tokens: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """P_k(token | context) from the lower-order probabilities; an unseen context backs off entirely."""
    table = self.orders[k - 1]
    counts = _lookup(table.gram_keys, table.gram_counts, context_keys * self.vocab_size + tokens)
    totals = _lookup(table.context_keys, table.context_totals, context_keys)
    types = _lookup(table.context_keys, table.context_types, context_keys)
    seen = totals > 0
    safe_totals = np.where(seen, totals, 1.0)
    p = np.maximum(counts - table.discount, 0) / safe_totals + table.discount * types / safe_totals * lower
    return np.where(seen, p, lower)

  def probs(self, history: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """P(tokens[i] | the last order-1 tokens of history[i]); history (R, order-1), -1 = no token."""
    V = self.vocab_size
    p = self._interpolate(1, np.zeros(len(tokens), np.int64), tokens, np.full(len(tokens), 1.0 / V))
    context = np.zeros(len(tokens), np.int64)
    for k in range(2, self.order + 1):
      previous = history[:, -(k - 1)]
      available = previous >= 0
      # The context of order k prepends one more token, as the most significant digit.
      context = np.where(available, previous * V ** (k - 2) + context, context)
      p = np.where(available, self._interpolate(k, context, tokens, p), p)
    return p

  def log_probs(self, ids) -> np.ndarray:
    """Natural log-probability of ids[1:], each given the stream before it (up to order-1 tokens)."""
    ids = np.asarray(ids, np.int64)
    n = self.order - 1
    padded = np.concatenate([np.full(n, -1, np.int64), ids])
    history = np.stack([padded[j:j + len(ids) - 1] for j in range(1, n + 1)], 1) if n else np.zeros((len(ids) - 1, 0))
    return np.log(self.probs(history.astype(np.int64), ids[1:]))

  def num_ngrams(self) -> list[int]:
    return [len(o.gram_keys) for o in self.orders]

  def storage_bytes(self) -> int:
    return sum(a.nbytes for o in self.orders for a in (o.gram_keys, o.gram_counts, o.context_keys,
                                                         o.context_totals, o.context_types))


@registry.register('ngram', count_based=True)
def _ngram(config, vocab_size, seq_len):
  del seq_len  # Counts take no window.
  model = registry.from_config(KneserNeyLM, config, vocab_size=vocab_size)
  registry.check_positive(model, ('order',))
  return model
