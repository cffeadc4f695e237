"""What pretraining objectives make of unlabeled documents (numpy, seeded): BART's noise (Lewis et al. 2019,
section 2.2: text infilling and sentence permutation) and BERT's next-sentence pairs (Devlin et al. 2018,
section 3.1, task #2).

A document is a list of sentences, each a list of token ids.
"""
import numpy as np


def span_lengths(rng: np.random.Generator, num_tokens: int, ratio: float = 0.3, poisson_lambda: float = 3.0) -> list:
  """Lengths ~ Poisson(λ) drawn until they cover ratio × num_tokens tokens (the last one cut to fit)."""
  budget = int(round(ratio * num_tokens))
  lengths = []
  while sum(lengths) < budget:
    lengths.append(int(min(rng.poisson(poisson_lambda), budget - sum(lengths))))
  return lengths


def infill(ids: list, rng: np.random.Generator, mask_id: int, ratio: float = 0.3, poisson_lambda: float = 3.0) -> list:
  """BART's text infilling: spans covering ratio of the tokens, lengths ~ Poisson(λ), each replaced by ONE
  mask id; a 0-length span inserts a mask (the model must also learn how many tokens are missing).

  Spans do not overlap: the kept tokens are the document's in order, and each span is placed at a gap between
  them (before the first, between two, after the last) drawn uniformly, spans at one gap in draw order.
  """
  lengths = span_lengths(rng, len(ids), ratio, poisson_lambda)
  kept = len(ids) - sum(lengths)
  gaps = np.sort(rng.integers(0, kept + 1, len(lengths)), kind='stable')
  out, source, span = [], 0, 0
  for gap in range(kept + 1):
    while span < len(lengths) and gaps[span] == gap:
      out.append(mask_id)
      source += lengths[span]
      span += 1
    if gap < kept:
      out.append(ids[source])
      source += 1
  return out


def permute_sentences(sentences: list, rng: np.random.Generator) -> list:
  """The document's sentences in a random order (BART's sentence permutation)."""
  return [sentences[i] for i in rng.permutation(len(sentences))]


def next_sentence_pairs(documents: list, num_pairs: int, rng: np.random.Generator) -> list:
  """num_pairs (A, B, is_next): A a sentence with a successor in its document; B that successor with
  probability 1/2 (is_next 1), else a sentence of another document drawn uniformly (is_next 0)."""
  firsts = [(d, i) for d, doc in enumerate(documents) for i in range(len(doc) - 1)]
  everything = [(d, i) for d, doc in enumerate(documents) for i in range(len(doc))]
  if not firsts or len(documents) < 2:
    raise ValueError('Next-sentence pairs need a document of at least two sentences, and two documents.')
  pairs = []
  for _ in range(num_pairs):
    d, i = firsts[rng.integers(len(firsts))]
    if rng.random() < 0.5:
      pairs.append((documents[d][i], documents[d][i + 1], 1))
      continue
    while True:  # Another document's sentence; rejection keeps the draw uniform over those.
      e, j = everything[rng.integers(len(everything))]
      if e != d:
        break
    pairs.append((documents[d][i], documents[e][j], 0))
  return pairs
