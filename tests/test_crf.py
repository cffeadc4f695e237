"""The linear-chain CRF against brute force over every tag sequence (numpy, float64)."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

from models import crf
from tests import tolerances

# Jitted once: each compiles a whole program per shape, where eager calls compile every small op (a few
# seconds of this file's run). test_jit_gives_the_same_numbers compares them with the eager functions.
log_partition, sequence_score, nll, viterbi = (
    jax.jit(f) for f in (crf.log_partition, crf.sequence_score, crf.nll, crf.viterbi))

# (K, T, lengths): a row of every length 0..T-1 in one batch, full rows, and T = 1 (an empty scan).
CASES = [(3, 5, [0, 1, 2, 3, 4]), (4, 3, [3, 1, 2]), (3, 1, [1, 0])]


def _random_crf(K, T, lengths, seed=0):
  """(emissions_BTK, transitions_KK, start_K, end_K, length_B) as float32 numpy arrays, standard normal."""
  rng = np.random.default_rng(seed)
  normal = lambda *shape: rng.standard_normal(shape).astype(np.float32)
  return normal(len(lengths), T, K), normal(K, K), normal(K), normal(K), np.asarray(lengths, np.int32)


def _numpy_score(emissions_TK, transitions_KK, start_K, end_K, tags):
  """The score of one row's tag sequence (a tuple of length n), term by term in float64."""
  if not tags:
    return 0.0
  e, a, s, z = (np.asarray(x, np.float64) for x in (emissions_TK, transitions_KK, start_K, end_K))
  return (s[tags[0]] + sum(e[t, y] for t, y in enumerate(tags))
          + sum(a[i, j] for i, j in zip(tags[:-1], tags[1:])) + z[tags[-1]])


def _all_sequences(emissions_BTK, transitions_KK, start_K, end_K, length_B, b):
  """Every tag sequence of row b and its score (one empty sequence, score 0, for length 0)."""
  K = emissions_BTK.shape[-1]
  sequences = list(itertools.product(range(K), repeat=int(length_B[b])))
  scores = np.array([_numpy_score(emissions_BTK[b], transitions_KK, start_K, end_K, y) for y in sequences])
  return sequences, scores


def _logsumexp(x):
  top = x.max()
  return top + np.log(np.exp(x - top).sum())


def _terms(K, T):
  """Rounded operations behind log Z: T steps of a K-term logsumexp and two additions."""
  return T * (K + 2)


def _scale(emissions_BTK, transitions_KK, start_K, end_K):
  """A bound on |score| of any sequence: the size of the terms that log Z and the scores add up."""
  T = emissions_BTK.shape[1]
  return (T * np.abs(emissions_BTK).max() + max(T - 1, 0) * np.abs(transitions_KK).max()
          + np.abs(start_K).max() + np.abs(end_K).max())


def test_log_partition_equals_brute_force():
  for K, T, lengths in CASES:
    inputs = _random_crf(K, T, lengths, seed=K * 10 + T)
    expected = [_logsumexp(_all_sequences(*inputs, b)[1]) for b in range(len(lengths))]
    tolerances.assert_close(log_partition(*inputs), expected, _terms(K, T), _scale(*inputs[:4]),
                            err_msg=f'K={K} T={T}')
  assert log_partition(*_random_crf(3, 5, [0, 2]))[0] == 0.0  # Length 0: exactly 0, not a logsumexp.


def test_viterbi_equals_brute_force_argmax_and_pads_with_zero():
  for K, T, lengths in CASES:
    inputs = _random_crf(K, T, lengths, seed=K * 10 + T + 1)
    path_BT = np.asarray(viterbi(*inputs))
    assert path_BT.shape == (len(lengths), T) and path_BT.dtype == np.int32
    for b, n in enumerate(lengths):
      sequences, scores = _all_sequences(*inputs, b)
      order = np.argsort(scores)[::-1]
      if n > 0:
        # Random normal scores: the runner-up is far beyond float32 rounding, so the argmax is unambiguous.
        assert scores[order[0]] - scores[order[1]] > tolerances.atol(_terms(K, T), _scale(*inputs[:4]))
      np.testing.assert_array_equal(path_BT[b, :n], sequences[order[0]], err_msg=f'K={K} T={T} row {b}')
      np.testing.assert_array_equal(path_BT[b, n:], 0)


def test_sequence_score_nll_and_normalization():
  K, T, lengths = CASES[0]
  inputs = _random_crf(K, T, lengths, seed=1)
  emissions_BTK, transitions_KK, start_K, end_K, length_B = inputs
  rng = np.random.default_rng(2)
  tags_BT = rng.integers(0, K, (len(lengths), T)).astype(np.int32)  # Tags past length too: they must not count.
  expected = [_numpy_score(emissions_BTK[b], transitions_KK, start_K, end_K, tuple(tags_BT[b, :n]))
              for b, n in enumerate(lengths)]
  scale = _scale(*inputs[:4])
  tolerances.assert_close(sequence_score(*inputs[:4], tags_BT, length_B), expected, 2 * T, scale)
  assert np.all(np.asarray(nll(*inputs[:4], tags_BT, length_B)) >= -tolerances.atol(_terms(K, T), scale))

  # exp(-nll) over every sequence of a row sums to 1: all rows' sequences in one batch (1 + 3 + ... + 81 rows).
  rows, all_tags = [], []
  for b, n in enumerate(lengths):
    for y in itertools.product(range(K), repeat=n):
      rows.append(b)
      all_tags.append(list(y) + [0] * (T - n))
  rows = np.asarray(rows)
  nll_N = nll(emissions_BTK[rows], transitions_KK, start_K, end_K, np.asarray(all_tags, np.int32),
                  length_B[rows])
  total_B = np.bincount(rows, weights=np.exp(-np.asarray(nll_N, np.float64)))
  # Each probability errs relatively by nll's error; their sum, of size 1, by the same.
  tolerances.assert_close(total_B, np.ones(len(lengths)), _terms(K, T), scale)


def _pad(inputs, extra, garbage):
  """The same rows padded by `extra` more steps filled with `garbage` (also over the rows' own padding)."""
  emissions_BTK, transitions_KK, start_K, end_K, length_B = inputs
  B, T, K = emissions_BTK.shape
  padded_BTK = np.concatenate([emissions_BTK, np.zeros((B, extra, K), np.float32)], axis=1)
  beyond_BT = np.arange(T + extra)[None, :] >= length_B[:, None]
  padded_BTK[beyond_BT] = garbage(padded_BTK[beyond_BT].shape)
  return padded_BTK, transitions_KK, start_K, end_K, length_B


def test_results_do_not_depend_on_padding():
  K, T, lengths = CASES[0]
  inputs = _random_crf(K, T, lengths, seed=3)
  rng = np.random.default_rng(4)
  tags_BT = np.where(np.arange(T)[None, :] < np.asarray(lengths)[:, None], rng.integers(0, K, (len(lengths), T)), 0)
  large = lambda shape: (1e4 * rng.standard_normal(shape)).astype(np.float32)
  non_finite = lambda shape: rng.choice(np.array([np.nan, np.inf, -np.inf], np.float32), shape)
  variants = [_pad(inputs, 0, large), _pad(inputs, 3, large), _pad(inputs, 3, non_finite)]
  terms, scale = _terms(K, T), _scale(*inputs[:4])
  grad_fn = jax.jit(jax.grad(lambda e, a, s, z, tags, length: crf.nll(e, a, s, z, tags, length).mean(),
                             argnums=(0, 1, 2, 3)))
  base_grads = None
  for variant in variants:
    padded_tags = np.pad(tags_BT, ((0, 0), (0, variant[0].shape[1] - T))).astype(np.int32)
    # Programs of different lengths may round the real steps differently, by float32 rounding at most.
    tolerances.assert_close(log_partition(*variant), log_partition(*inputs), terms, scale)
    tolerances.assert_close(sequence_score(*variant[:4], padded_tags, variant[4]),
                            sequence_score(*inputs[:4], tags_BT, inputs[4]), terms, scale)
    path_BT = np.asarray(viterbi(*variant))
    np.testing.assert_array_equal(path_BT[:, :T], viterbi(*inputs))
    np.testing.assert_array_equal(path_BT[:, T:], 0)
    grads = grad_fn(*variant[:4], padded_tags, variant[4])
    beyond_BT = np.arange(variant[0].shape[1])[None, :] >= inputs[4][:, None]
    np.testing.assert_array_equal(np.asarray(grads[0])[beyond_BT], 0.0)  # Garbage gets no gradient, not NaN.
    grads = (grads[0][:, :T],) + grads[1:]
    if base_grads is None:
      base_grads = grads
    tolerances.assert_trees_close(grads, base_grads, terms)


def test_gradients_match_finite_differences_float64():
  K, T, lengths = CASES[0]
  with jax.enable_x64(True):
    emissions_BTK, transitions_KK, start_K, end_K, length_B = (
        jnp.asarray(x, jnp.float64) if x.dtype == np.float32 else jnp.asarray(x)
        for x in _random_crf(K, T, lengths, seed=5))
    tags_BT = jnp.asarray(np.random.default_rng(6).integers(0, K, (len(lengths), T)), jnp.int32)
    loss = jax.jit(lambda e, a, s, z: crf.nll(e, a, s, z, tags_BT, length_B).mean())
    assert loss(emissions_BTK, transitions_KK, start_K, end_K).dtype == jnp.float64  # float64 kept, not cast down.
    # Central differences with step 1e-6 err by about 1e-12 (truncation) + 1e-16 / 1e-6 (rounding).
    check_grads(loss, (emissions_BTK, transitions_KK, start_K, end_K), order=1, modes=['rev'],
                eps=1e-6, atol=1e-7, rtol=1e-7)


def test_emission_gradient_of_log_partition_is_the_marginals():
  """d log Z / d emissions[b, t, k] = P(y_t = k), against brute force in float32: the gradient nll trains by."""
  K, T, lengths = CASES[0]
  inputs = _random_crf(K, T, lengths, seed=7)
  grad_BTK = np.asarray(jax.jit(jax.grad(lambda e: crf.log_partition(e, *inputs[1:]).sum()))(inputs[0]))
  expected_BTK = np.zeros_like(grad_BTK, np.float64)
  for b, n in enumerate(lengths):
    sequences, scores = _all_sequences(*inputs, b)
    probabilities = np.exp(scores - _logsumexp(scores))
    for y, p in zip(sequences, probabilities):
      expected_BTK[b, np.arange(n), list(y)] += p
  # A probability of size <= 1 from a difference of scores and log Z, each with float32 errors of size `scale`.
  tolerances.assert_close(grad_BTK, expected_BTK, _terms(K, T), _scale(*inputs[:4]))


def test_jit_gives_the_same_numbers():
  K, T, lengths = CASES[0]
  inputs = _random_crf(K, T, lengths, seed=8)
  tags_BT = np.random.default_rng(9).integers(0, K, (len(lengths), T)).astype(np.int32)
  terms, scale = _terms(K, T), _scale(*inputs[:4])
  for fn, args in [(crf.log_partition, inputs), (crf.sequence_score, inputs[:4] + (tags_BT, inputs[4])),
                   (crf.nll, inputs[:4] + (tags_BT, inputs[4]))]:
    tolerances.assert_close(jax.jit(fn)(*args), fn(*args), terms, scale, err_msg=fn.__name__)
  np.testing.assert_array_equal(jax.jit(crf.viterbi)(*inputs), crf.viterbi(*inputs))
