"""Batched greedy and beam-search decoding for any model with a one-token step.

`step_fn(tokens_R, state) -> (logits_RV, state)` feeds one token per row (R: B rows, or B·W beams) and
returns next-token logits. State leaves with ndim >= 1 carry the row dimension R
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
  b*W .. b*W+W-1 of what step_fn sees). A hypothesis scores sum(log p) / lp with
  lp = ((5 + length) / 6) ** length_penalty, length counting EOS.

  Every step keeps W alive and W finished hypotheses per row. Of the top 2W
  extensions of the alive set, those ending in EOS and ranked within the top W
  finish (fairseq's rule; it makes beam_size 1 exactly greedy), the best W not
  ending in EOS stay alive, and at the last step the top W finish, EOS or not. A row
  is done once no alive hypothesis can beat its worst kept finished one.
  """
  if max_len < 1 or beam_size < 1:
    raise ValueError(f'max_len and beam_size must be >= 1; got {max_len} and {beam_size}.')
  B, W, L = _num_rows(state), beam_size, max_len
  lp = lambda length: length_penalty_factor(length, length_penalty)
  state = _map_rows(lambda x: jnp.repeat(x, W, axis=0), state)
  position_L = jnp.arange(L)

  def cond(carry):
    t, alive_ok_BW = carry['t'], carry['alive_ok_BW']
    # Log-probs only fall, so an alive hypothesis scores at most its current log-prob over the
    # largest lp any length it can still reach gives (lp is monotonic in length).
    best_lp = jnp.maximum(lp(t + 1), lp(L))
    best_alive_B = jnp.max(jnp.where(alive_ok_BW, carry['alive_logp_BW'], NEG), axis=1)
    bound_B = jnp.where(jnp.any(alive_ok_BW, axis=1), best_alive_B / best_lp, NEG)
    # Below W finished, an empty slot is worth NEG, so any alive hypothesis beats it.
    worst_finished_B = jnp.min(carry['fin_score_BW'], axis=1)
    done_B = ~jnp.any(alive_ok_BW, axis=1) | (bound_B < worst_finished_B)
    return (t < L) & ~jnp.all(done_B)

  def body(carry):
    t, alive_ok_BW = carry['t'], carry['alive_ok_BW']
    logits_RV, state = step_fn(carry['token_BW'].reshape(B * W), carry['state'])
    V = logits_RV.shape[-1]
    if V < 2:
      raise ValueError(f'Beam search needs a vocabulary of at least 2 tokens; got {V}.')
    logp_BWV = jax.nn.log_softmax(logits_RV.astype(jnp.float32), axis=-1).reshape(B, W, V)
    cand_BWV = jnp.where(alive_ok_BW[..., None], carry['alive_logp_BW'][..., None] + logp_BWV, NEG)
    # 2W candidates: enough that W survive even if W of them end in EOS.
    logp_B2W, index_B2W = jax.lax.top_k(cand_BWV.reshape(B, W * V), 2 * W)
    beam_B2W, token_B2W = index_B2W // V, (index_B2W % V).astype(jnp.int32)
    ok_B2W = jnp.take_along_axis(alive_ok_BW, beam_B2W, axis=1)
    seq_B2WL = jnp.take_along_axis(carry['alive_seq_BWL'], beam_B2W[..., None], axis=1)
    seq_B2WL = jnp.where(position_L == t, token_B2W[..., None], seq_B2WL)
    eos_B2W = token_B2W == eos_id

    # Finished: the previous W and this step's newly finished, best W kept.
    top_rank_2W = jnp.arange(2 * W) < W
    finish_B2W = ok_B2W & top_rank_2W & (eos_B2W | (t + 1 == L))
    new_score_B2W = jnp.where(finish_B2W, logp_B2W / lp(t + 1), NEG)
    fin_score_BW, pick_BW = jax.lax.top_k(jnp.concatenate([carry['fin_score_BW'], new_score_B2W], axis=1), W)
    fin_seq_BWL = jnp.take_along_axis(jnp.concatenate([carry['fin_seq_BWL'], seq_B2WL], axis=1),
                                      pick_BW[..., None], axis=1)
    fin_len_BW = jnp.take_along_axis(
        jnp.concatenate([carry['fin_len_BW'], jnp.broadcast_to(t + 1, (B, 2 * W))], axis=1), pick_BW, axis=1)

    # Alive: the best W that did not end in EOS; their states follow them.
    keep_B2W = ok_B2W & ~eos_B2W
    alive_logp_BW, pick_BW = jax.lax.top_k(jnp.where(keep_B2W, logp_B2W, NEG), W)
    source_R = (jnp.arange(B)[:, None] * W + jnp.take_along_axis(beam_B2W, pick_BW, axis=1)).reshape(B * W)
    return dict(
        t=t + 1, state=_map_rows(lambda x: jnp.take(x, source_R, axis=0), state),
        token_BW=jnp.take_along_axis(token_B2W, pick_BW, axis=1),
        alive_seq_BWL=jnp.take_along_axis(seq_B2WL, pick_BW[..., None], axis=1),
        alive_logp_BW=alive_logp_BW, alive_ok_BW=jnp.take_along_axis(keep_B2W, pick_BW, axis=1),
        fin_seq_BWL=fin_seq_BWL, fin_score_BW=fin_score_BW, fin_len_BW=fin_len_BW)

  # Only beam 0 starts alive: W copies of BOS would fill the beam with one hypothesis.
  first_W = jnp.arange(W) == 0
  carry = dict(
      t=jnp.zeros((), jnp.int32), state=state, token_BW=jnp.full((B, W), bos_id, jnp.int32),
      alive_seq_BWL=jnp.full((B, W, L), PAD_ID, jnp.int32),
      alive_logp_BW=jnp.broadcast_to(jnp.where(first_W, 0.0, NEG), (B, W)),
      alive_ok_BW=jnp.broadcast_to(first_W, (B, W)),
      fin_seq_BWL=jnp.full((B, W, L), PAD_ID, jnp.int32), fin_score_BW=jnp.full((B, W), NEG, jnp.float32),
      fin_len_BW=jnp.zeros((B, W), jnp.int32))
  carry = jax.lax.while_loop(cond, body, carry)
  # Finished scores are sorted, so slot 0 is the best (at least one finishes by max_len).
  return carry['fin_seq_BWL'][:, 0], carry['fin_len_BW'][:, 0], carry['fin_score_BW'][:, 0]
