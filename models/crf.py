"""Linear-chain conditional random field: log-partition, sequence score, NLL and Viterbi decoding.

Pure functions over a batch of right-padded rows (B batch, T padded length, K tags). A row of length n
(0 <= n <= T) and tags y_0 .. y_{n-1} score

  start[y_0] + sum_{t < n} emissions[t, y_t] + sum_{0 < t < n} transitions[y_{t-1}, y_t] + end[y_{n-1}],

transitions_KK[i, j] being the score of tag i followed by tag j; log Z is the logsumexp of that score over all
K^n sequences, and a row's negative log-likelihood is log Z minus the score of its tags.

The forward (sum-product in log space) and Viterbi (max-product) recursions are plain lax.scans over t = 1..T-1
whose step leaves a row's carry unchanged past its length: the carry after the scan is each row's state at its
last real position, where the end score is added, and a row's results do not depend on how far the batch is
padded. Padded emissions are also zeroed before any arithmetic, so whatever they hold (even inf or NaN) reaches
neither values nor gradients. A row of length 0 has only the empty sequence: log Z = score = 0, path all 0.

Arithmetic is float32: bfloat16 inputs are promoted (a logsumexp over T steps would lose the likelihood's
small differences in 8 bits of mantissa); float64 inputs, under jax.enable_x64, stay float64 for tests.
"""
import jax
import jax.numpy as jnp


def _prepare(emissions_BTK, transitions_KK, start_K, end_K, length_B):
  """The scores in (at least) float32, padded emissions zeroed, and the (B, T) mask of real positions."""
  dtype = jnp.promote_types(jnp.result_type(emissions_BTK, transitions_KK, start_K, end_K), jnp.float32)
  emissions_BTK, transitions_KK, start_K, end_K = (
      jnp.asarray(x, dtype) for x in (emissions_BTK, transitions_KK, start_K, end_K))
  valid_BT = jnp.arange(emissions_BTK.shape[1])[None, :] < length_B[:, None]
  emissions_BTK = jnp.where(valid_BT[..., None], emissions_BTK, 0.0)
  return emissions_BTK, transitions_KK, start_K, end_K, valid_BT


def _steps_after_first(emissions_BTK, valid_BT):
  """The scan's inputs: emissions and mask of steps 1..T-1, time-major (an empty scan when T = 1)."""
  return jnp.swapaxes(emissions_BTK[:, 1:], 0, 1), valid_BT[:, 1:].T


def log_partition(emissions_BTK, transitions_KK, start_K, end_K, length_B):
  """log Z (B,): logsumexp over every tag sequence y_0..y_{n-1} (n = length_B[b]) of
  start[y_0] + sum_t emissions[t, y_t] + sum_{t>0} transitions[y_{t-1}, y_t] + end[y_{n-1}].
  Positions t >= length are padding and change nothing. A row of length 0 has log Z = 0."""
  emissions_BTK, transitions_KK, start_K, end_K, valid_BT = _prepare(
      emissions_BTK, transitions_KK, start_K, end_K, length_B)

  def step(alpha_BK, inputs):
    # alpha_BK[b, j]: logsumexp of the scores of every prefix of row b that ends in tag j.
    emissions_BK, valid_B = inputs
    new_BK = jax.nn.logsumexp(alpha_BK[:, :, None] + transitions_KK, axis=1) + emissions_BK
    return jnp.where(valid_B[:, None], new_BK, alpha_BK), None

  alpha_BK, _ = jax.lax.scan(step, start_K + emissions_BTK[:, 0], _steps_after_first(emissions_BTK, valid_BT))
  log_z_B = jax.nn.logsumexp(alpha_BK + end_K, axis=-1)
  return jnp.where(length_B > 0, log_z_B, 0.0)


def sequence_score(emissions_BTK, transitions_KK, start_K, end_K, tags_BT, length_B):
  """(B,) the score above of the given tag sequence (positions past length ignored; tags there may be any
  value in [0, K), e.g. 0). Length 0: 0."""
  emissions_BTK, transitions_KK, start_K, end_K, valid_BT = _prepare(
      emissions_BTK, transitions_KK, start_K, end_K, length_B)
  tags_BT = jnp.asarray(tags_BT)
  # Padded emissions are already 0, whatever tag indexes them.
  emitted_BT = jnp.take_along_axis(emissions_BTK, tags_BT[..., None], axis=-1)[..., 0]
  moves_BT = transitions_KK[tags_BT[:, :-1], tags_BT[:, 1:]]  # (B, T - 1): the move into step t = 1..T-1.
  moves_BT = jnp.where(valid_BT[:, 1:], moves_BT, 0.0)
  last_B = jnp.take_along_axis(tags_BT, jnp.maximum(length_B - 1, 0)[:, None], axis=1)[:, 0]
  score_B = start_K[tags_BT[:, 0]] + emitted_BT.sum(1) + moves_BT.sum(1) + end_K[last_B]
  return jnp.where(length_B > 0, score_B, 0.0)


def nll(emissions_BTK, transitions_KK, start_K, end_K, tags_BT, length_B):
  """(B,) log Z - score: the negative log-likelihood of each row's tags."""
  return (log_partition(emissions_BTK, transitions_KK, start_K, end_K, length_B)
          - sequence_score(emissions_BTK, transitions_KK, start_K, end_K, tags_BT, length_B))


def viterbi(emissions_BTK, transitions_KK, start_K, end_K, length_B):
  """(B, T) int32 the highest-scoring tag sequence of each row (positions past length: 0). Forward max-product
  with back-pointers in one lax.scan, then backtracking in a reverse lax.scan (no Python loop over T)."""
  emissions_BTK, transitions_KK, start_K, end_K, valid_BT = _prepare(
      emissions_BTK, transitions_KK, start_K, end_K, length_B)
  K = emissions_BTK.shape[-1]

  def forward(delta_BK, inputs):
    # delta_BK[b, j]: the best score of a prefix of row b that ends in tag j.
    emissions_BK, valid_B = inputs
    scores_BKK = delta_BK[:, :, None] + transitions_KK  # [b, i, j]: the best prefix ending in i, then j.
    new_BK = jnp.max(scores_BKK, axis=1) + emissions_BK
    # A padded step points every tag back to itself, so backtracking carries the last real tag through it.
    back_BK = jnp.where(valid_B[:, None], jnp.argmax(scores_BKK, axis=1), jnp.arange(K))
    return jnp.where(valid_B[:, None], new_BK, delta_BK), back_BK

  delta_BK, back_TBK = jax.lax.scan(
      forward, start_K + emissions_BTK[:, 0], _steps_after_first(emissions_BTK, valid_BT))

  def backward(tag_B, back_BK):
    # tag_B is the tag at step t; back_BK (step t's pointers) gives the tag at step t - 1.
    return jnp.take_along_axis(back_BK, tag_B[:, None], axis=1)[:, 0], tag_B

  last_B = jnp.argmax(delta_BK + end_K, axis=-1)
  first_B, later_TB = jax.lax.scan(backward, last_B, back_TBK, reverse=True)  # later_TB[t - 1]: tag at t.
  path_BT = jnp.concatenate([first_B[:, None], later_TB.T], axis=1)
  return jnp.where(valid_BT, path_BT, 0).astype(jnp.int32)
