"""Batched greedy and beam-search decoding for any model with a one-token step.

`step_fn(tokens_N, state) -> (logits_NV, state)` feeds one token per row and
returns next-token logits. State leaves with ndim >= 1 carry the row dimension N
first and follow their row (beam search reorders them by the back-pointers);
scalar leaves (a shared cache index) belong to all rows and pass through as they
are. Both decoders are one `jax.lax.while_loop` over static shapes, so a batch
shape compiles once, and the loop ends as soon as every row has finished.

Outputs: tokens (B, max_len) int32 without BOS, EOS included when produced and
PAD (0) after it; lengths (B,) count the generated tokens, EOS included; a row
that reaches max_len without EOS ends there with length max_len.
"""
from typing import Callable

import jax
import jax.numpy as jnp

PAD_ID = 0  # Written after EOS.
NEG = float(jnp.finfo(jnp.float32).min)  # Masks dead hypotheses; finite, so sums and sorts never give NaN.

StepFn = Callable[[jax.Array, object], tuple[jax.Array, object]]


def _num_rows(state) -> int:
  rows = {leaf.shape[0] for leaf in jax.tree.leaves(state) if jnp.ndim(leaf) >= 1}
  if len(rows) != 1:
    raise ValueError(f'State leaves with ndim >= 1 must share one leading row dimension; got sizes {sorted(rows)}.')
  return rows.pop()


def _map_rows(fn, state):
  """Applies `fn` to the leaves that have a row dimension; scalar leaves are shared and stay as they are."""
  return jax.tree.map(lambda x: fn(x) if jnp.ndim(x) >= 1 else x, state)


def length_penalty_factor(length, alpha: float):
  """GNMT's lp = ((5 + length) / 6) ** alpha (Wu et al. 2016); a hypothesis scores log p / lp."""
  return ((5.0 + jnp.asarray(length, jnp.float32)) / 6.0) ** alpha


def greedy_decode(step_fn: StepFn, state, *, bos_id: int, eos_id: int, max_len: int):
  """Returns (tokens_BL, lengths_B), both int32: the argmax continuation of BOS for every row."""
  if max_len < 1:
    raise ValueError(f'max_len must be >= 1; got {max_len}.')
  B = _num_rows(state)

  def cond(carry):
    return (carry['t'] < max_len) & ~jnp.all(carry['done_B'])

  def body(carry):
    t, done_B = carry['t'], carry['done_B']
    logits_BV, state = step_fn(carry['token_B'], carry['state'])
    token_B = jnp.where(done_B, PAD_ID, jnp.argmax(logits_BV, axis=-1).astype(jnp.int32))
    return dict(t=t + 1, token_B=token_B, state=state,
                tokens_BL=carry['tokens_BL'].at[:, t].set(token_B),
                lengths_B=carry['lengths_B'] + (~done_B).astype(jnp.int32),
                done_B=done_B | (token_B == eos_id))

  carry = dict(t=jnp.zeros((), jnp.int32), token_B=jnp.full((B,), bos_id, jnp.int32), state=state,
               tokens_BL=jnp.full((B, max_len), PAD_ID, jnp.int32), lengths_B=jnp.zeros((B,), jnp.int32),
               done_B=jnp.zeros((B,), bool))
  carry = jax.lax.while_loop(cond, body, carry)
  return carry['tokens_BL'], carry['lengths_B']


def beam_search(step_fn: StepFn, state, *, beam_size: int, bos_id: int, eos_id: int, max_len: int,
                length_penalty: float = 0.0):
  """Returns (tokens_BL int32, lengths_B int32, scores_B float32): the best finished hypothesis per row.

  `state` holds B rows; each is repeated beam_size times (row b's beams are rows
  b*K .. b*K+K-1 of what step_fn sees). A hypothesis scores sum(log p) / lp with
  lp = ((5 + length) / 6) ** length_penalty, length counting EOS.

  Every step keeps K alive and K finished hypotheses per row. Of the top 2K
  extensions of the alive set, those ending in EOS and ranked within the top K
  finish (fairseq's rule; it makes beam_size 1 exactly greedy), the best K not
  ending in EOS stay alive, and at the last step the top K finish, EOS or not. A row
  is done once no alive hypothesis can beat its worst kept finished one.
  """
  if max_len < 1 or beam_size < 1:
    raise ValueError(f'max_len and beam_size must be >= 1; got {max_len} and {beam_size}.')
  B, K, L = _num_rows(state), beam_size, max_len
  lp = lambda length: length_penalty_factor(length, length_penalty)
  state = _map_rows(lambda x: jnp.repeat(x, K, axis=0), state)
  position_L = jnp.arange(L)

  def cond(carry):
    t, alive_ok_BK = carry['t'], carry['alive_ok_BK']
    # Log-probs only fall, so an alive hypothesis scores at most its current log-prob over the
    # largest lp any length it can still reach gives (lp is monotonic in length).
    best_lp = jnp.maximum(lp(t + 1), lp(L))
    best_alive_B = jnp.max(jnp.where(alive_ok_BK, carry['alive_logp_BK'], NEG), axis=1)
    bound_B = jnp.where(jnp.any(alive_ok_BK, axis=1), best_alive_B / best_lp, NEG)
    # Below K finished, an empty slot is worth NEG, so any alive hypothesis beats it.
    worst_finished_B = jnp.min(carry['fin_score_BK'], axis=1)
    done_B = ~jnp.any(alive_ok_BK, axis=1) | (bound_B < worst_finished_B)
    return (t < L) & ~jnp.all(done_B)

  def body(carry):
    t, alive_ok_BK = carry['t'], carry['alive_ok_BK']
    logits_NV, state = step_fn(carry['token_BK'].reshape(B * K), carry['state'])
    V = logits_NV.shape[-1]
    if V < 2:
      raise ValueError(f'Beam search needs a vocabulary of at least 2 tokens; got {V}.')
    logp_BKV = jax.nn.log_softmax(logits_NV.astype(jnp.float32), axis=-1).reshape(B, K, V)
    cand_BKV = jnp.where(alive_ok_BK[..., None], carry['alive_logp_BK'][..., None] + logp_BKV, NEG)
    # C = 2K candidates: enough that K survive even if K of them end in EOS.
    logp_BC, index_BC = jax.lax.top_k(cand_BKV.reshape(B, K * V), 2 * K)
    beam_BC, token_BC = index_BC // V, (index_BC % V).astype(jnp.int32)
    ok_BC = jnp.take_along_axis(alive_ok_BK, beam_BC, axis=1)
    seq_BCL = jnp.take_along_axis(carry['alive_seq_BKL'], beam_BC[..., None], axis=1)
    seq_BCL = jnp.where(position_L == t, token_BC[..., None], seq_BCL)
    eos_BC = token_BC == eos_id

    # Finished: the previous K and this step's newly finished, best K kept.
    top_rank_C = jnp.arange(2 * K) < K
    finish_BC = ok_BC & top_rank_C & (eos_BC | (t + 1 == L))
    new_score_BC = jnp.where(finish_BC, logp_BC / lp(t + 1), NEG)
    fin_score_BK, pick_BK = jax.lax.top_k(jnp.concatenate([carry['fin_score_BK'], new_score_BC], axis=1), K)
    fin_seq_BKL = jnp.take_along_axis(jnp.concatenate([carry['fin_seq_BKL'], seq_BCL], axis=1),
                                      pick_BK[..., None], axis=1)
    fin_len_BK = jnp.take_along_axis(
        jnp.concatenate([carry['fin_len_BK'], jnp.broadcast_to(t + 1, (B, 2 * K))], axis=1), pick_BK, axis=1)

    # Alive: the best K that did not end in EOS; their states follow them.
    keep_BC = ok_BC & ~eos_BC
    alive_logp_BK, pick_BK = jax.lax.top_k(jnp.where(keep_BC, logp_BC, NEG), K)
    source_N = (jnp.arange(B)[:, None] * K + jnp.take_along_axis(beam_BC, pick_BK, axis=1)).reshape(B * K)
    return dict(
        t=t + 1, state=_map_rows(lambda x: jnp.take(x, source_N, axis=0), state),
        token_BK=jnp.take_along_axis(token_BC, pick_BK, axis=1),
        alive_seq_BKL=jnp.take_along_axis(seq_BCL, pick_BK[..., None], axis=1),
        alive_logp_BK=alive_logp_BK, alive_ok_BK=jnp.take_along_axis(keep_BC, pick_BK, axis=1),
        fin_seq_BKL=fin_seq_BKL, fin_score_BK=fin_score_BK, fin_len_BK=fin_len_BK)

  # Only beam 0 starts alive: K copies of BOS would fill the beam with one hypothesis.
  first_K = jnp.arange(K) == 0
  carry = dict(
      t=jnp.zeros((), jnp.int32), state=state, token_BK=jnp.full((B, K), bos_id, jnp.int32),
      alive_seq_BKL=jnp.full((B, K, L), PAD_ID, jnp.int32),
      alive_logp_BK=jnp.broadcast_to(jnp.where(first_K, 0.0, NEG), (B, K)),
      alive_ok_BK=jnp.broadcast_to(first_K, (B, K)),
      fin_seq_BKL=jnp.full((B, K, L), PAD_ID, jnp.int32), fin_score_BK=jnp.full((B, K), NEG, jnp.float32),
      fin_len_BK=jnp.zeros((B, K), jnp.int32))
  carry = jax.lax.while_loop(cond, body, carry)
  # Finished scores are sorted, so slot 0 is the best (at least one finishes by max_len).
  return carry['fin_seq_BKL'][:, 0], carry['fin_len_BK'][:, 0], carry['fin_score_BK'][:, 0]
