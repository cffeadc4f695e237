"""BART's noise and BERT's next-sentence pairs (data/corruption.py) against their definitions."""
import math

import numpy as np
import pytest
import scipy.stats

from data import corruption

MASK = -1


def test_span_lengths_follow_poisson_3_and_cover_30_percent():
  rng = np.random.default_rng(0)
  lengths = []
  for _ in range(3000):
    drawn = corruption.span_lengths(rng, 200)
    assert sum(drawn) == 60
    # The first five: a later span may be the last, cut to fit, and which span is last depends on its length.
    lengths += drawn[:5]
  counts = np.bincount(lengths, minlength=13)[:13]
  expected = len(lengths) * scipy.stats.poisson.pmf(np.arange(13), 3.0)
  assert counts.sum() > 0.99 * len(lengths)
  # Pearson's chi-square against Poisson(3) over 0..12: a wrong λ (2.5 or 3.5) fails by far.
  chi2 = np.sum((counts - expected) ** 2 / expected)
  assert chi2 < scipy.stats.chi2.ppf(0.999, df=12)
  assert np.mean(lengths) == pytest.approx(3.0, abs=0.05)


def test_infilling_replaces_each_span_by_one_mask_and_keeps_the_rest_in_order():
  for trial in range(200):
    ids = list(range(100, 100 + 40 + trial % 7))
    lengths = corruption.span_lengths(np.random.default_rng([1, trial]), len(ids))
    out = corruption.infill(ids, np.random.default_rng([1, trial]), MASK)
    assert out.count(MASK) == len(lengths)
    kept = [t for t in out if t != MASK]
    assert kept == sorted(kept) and len(kept) == len(ids) - sum(lengths)
    # Rebuild the original: each mask stands for its span's tokens, in draw order.
    rebuilt, span, source = [], 0, 0
    for t in out:
      if t == MASK:
        rebuilt += ids[source:source + lengths[span]]
        source += lengths[span]
        span += 1
      else:
        rebuilt.append(t)
        source += 1
    assert rebuilt == ids


def test_sentence_permutation_permutes_within_the_document():
  sentences = [[1, 2], [3], [4, 5, 6], [7]]
  seen = set()
  for seed in range(50):
    out = corruption.permute_sentences(sentences, np.random.default_rng(seed))
    assert sorted(out) == sorted(sentences)
    seen.add(tuple(map(tuple, out)))
  assert len(seen) > 10


def test_next_sentence_pairs_are_half_true_successors_and_half_from_other_documents():
  documents = [[[d, i] for i in range(2 + d % 4)] for d in range(30)]
  pairs = corruption.next_sentence_pairs(documents, 20000, np.random.default_rng(0))
  is_next = np.array([p[2] for p in pairs])
  # Binomial(20000, 1/2): 4.5 standard deviations is 318.
  assert abs(is_next.sum() - 10000) < 4.5 * math.sqrt(20000 / 4)
  for a, b, label in pairs:
    if label:
      assert b[0] == a[0] and b[1] == a[1] + 1
    else:
      assert b[0] != a[0]
  with pytest.raises(ValueError, match='at least two sentences'):
    corruption.next_sentence_pairs([[[1]], [[2]]], 1, np.random.default_rng(0))
