"""Kneser–Ney: distributions sum to 1, and agree with a direct dictionary implementation."""
import collections
import os

import numpy as np
import pytest

from models.ngram import KneserNeyLM
from training import config_loading
from training import loop


def _stream(n=2000, vocab=6, seed=0):
  rng = np.random.RandomState(seed)
  ids = rng.randint(0, vocab, n)
  ids[::4] = 2  # Some structure, so higher orders matter.
  ids[1::7] = 5
  return ids


class DictKneserNey:
  """Reference: interpolated Kneser–Ney written directly from the definition, with tuples and dicts."""

  def __init__(self, ids, order, vocab):
    self.order, self.vocab = order, vocab
    ids = [int(i) for i in ids]
    self.counts = {}  # k -> {gram tuple: count}
    for k in range(1, order + 1):
      if k == order:
        table = collections.Counter(tuple(ids[i:i + k]) for i in range(len(ids) - k + 1))
      else:
        longer = {tuple(ids[i:i + k + 1]) for i in range(len(ids) - k)}
        table = collections.Counter(g[1:] for g in longer)
      self.counts[k] = dict(table)
    self.discount = {}
    for k, table in self.counts.items():
      n1 = sum(1 for c in table.values() if c == 1)
      n2 = sum(1 for c in table.values() if c == 2)
      self.discount[k] = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5  # The same fallback as the model.

  def prob(self, context, word):
    k = len(context) + 1
    table, d = self.counts[k], self.discount[k]
    grams = {g: c for g, c in table.items() if g[:-1] == tuple(context)}
    total = sum(grams.values())
    lower = 1.0 / self.vocab if k == 1 else self.prob(context[1:], word)
    if total == 0:
      return lower
    return max(grams.get(tuple(context) + (word,), 0) - d, 0) / total + d * len(grams) / total * lower


def test_every_conditional_distribution_sums_to_one():
  lm = KneserNeyLM(4, 6).fit(_stream())
  rng = np.random.RandomState(1)
  histories = np.concatenate([rng.randint(-1, 6, (30, 3)), [[-1, -1, -1], [-1, -1, 2], [5, 5, 5]]])
  histories[histories[:, 1] < 0, 0] = -1  # A missing token means every older one is missing too.
  histories[histories[:, 2] < 0, :2] = -1
  for history in histories:
    p = lm.probs(np.tile(history, (6, 1)), np.arange(6))
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert (p > 0).all()


@pytest.mark.parametrize('order', [1, 2, 3])
def test_matches_a_dictionary_implementation(order):
  ids = _stream(600)
  lm = KneserNeyLM(order, 6).fit(ids)
  reference = DictKneserNey(ids, order, 6)
  test_ids = _stream(60, seed=5)
  expected = [np.log(reference.prob(list(test_ids[max(0, i - order + 1):i]), int(test_ids[i])))
              for i in range(1, len(test_ids))]
  np.testing.assert_allclose(lm.log_probs(test_ids), expected, rtol=1e-10)


def test_counts_and_storage_are_reported():
  lm = KneserNeyLM(3, 6).fit(_stream())
  assert lm.num_ngrams()[0] == 6 and lm.num_ngrams()[0] <= lm.num_ngrams()[1] <= lm.num_ngrams()[2] <= 6 ** 3
  assert lm.storage_bytes() > 0


@pytest.mark.skipif(not os.path.exists(os.path.join(os.environ.get('SEQLAB_DATA_DIR', ''), 'tinyshakespeare')),
                    reason='SEQLAB_DATA_DIR does not hold tinyshakespeare/')
def test_ngram_runs_through_train_py_evaluation(tmp_path):
  config = config_loading.load_config('configs/charlm/ngram.py:tiny')
  config = config_loading.apply_overrides(config, {'data.dir': os.environ['SEQLAB_DATA_DIR']})
  results = loop.train_and_evaluate(config, str(tmp_path))
  assert set(results) == {f'{s}/{m}' for s in ('valid', 'test') for m in ('loss', 'ppl', 'bpc')} | {'model/ngrams', 'model/storage_bytes'}
  assert 0 < results['valid/loss'] < np.log(65)
  assert (tmp_path / 'results.json').exists()
