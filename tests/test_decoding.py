"""Decoding: beam 1 is greedy, a wide beam finds the exhaustive optimum, beam 2 finds what greedy misses (only if
states follow their beams), the stopping bound respects the length penalty, greedy equals a Python loop, rows are
independent, and the loops stop as soon as every row has finished."""
import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from tasks import decoding
from tests import tolerances

BOS, EOS = 1, 2


@functools.lru_cache(maxsize=None)
def _jit(decoder, step_fn, **kwargs):
  """One compiled decoder per (model, settings), shared by the tests."""
  return jax.jit(functools.partial(decoder, step_fn, **kwargs))


# Model (a): logits[position, previous token, fed token] from a per-row random table. The previous token lives in
# the state, so beams whose states are not reordered with them read the wrong row of the table.
def table_step(tokens_R, state):
  row_R, pos_R, prev_R = jnp.arange(tokens_R.shape[0]), state['pos'], state['prev']
  logits_RV = state['table'][row_R, pos_R, prev_R, tokens_R]
  return logits_RV, dict(state, pos=jnp.minimum(pos_R + 1, state['table'].shape[1] - 1), prev=tokens_R)


def table_state(table_BLVVV):
  B = table_BLVVV.shape[0]
  return {'table': jnp.asarray(table_BLVVV, jnp.float32), 'pos': jnp.zeros((B,), jnp.int32),
          'prev': jnp.full((B,), BOS, jnp.int32)}


def random_tables(seed, batch=4, positions=6, vocab=4, scale=2.0):
  return np.random.default_rng(seed).normal(size=(batch, positions, vocab, vocab, vocab)) * scale


# Model (b): a small GRU with a random initial hidden state per row (as an encoder would give) and a shared scalar
# step counter that raises the EOS logit over time.
GRU_VOCAB, GRU_HIDDEN = 7, 8


def _gru_params(seed=0):  # numpy, so jitted steps see constants rather than cached tracers.
  rng = np.random.default_rng(seed)
  normal = lambda *shape: rng.normal(size=shape).astype(np.float32)
  return {'embed': normal(GRU_VOCAB, GRU_HIDDEN), 'w': normal(GRU_HIDDEN, 3 * GRU_HIDDEN) / np.sqrt(GRU_HIDDEN),
          'u': normal(GRU_HIDDEN, 3 * GRU_HIDDEN) / np.sqrt(GRU_HIDDEN), 'out': normal(GRU_HIDDEN, GRU_VOCAB) * 1.5}


GRU_PARAMS = _gru_params()


def gru_step(tokens_R, state):
  assert state['step'].ndim == 0, 'the shared scalar leaf was gathered or repeated'
  p, h_RH = GRU_PARAMS, state['h']
  x_R3H, h_R3H = jnp.asarray(p['embed'])[tokens_R] @ p['w'], h_RH @ p['u']
  z_RH, r_RH, _ = jnp.split(jax.nn.sigmoid(x_R3H + h_R3H), 3, axis=-1)
  candidate_RH = jnp.tanh(jnp.split(x_R3H, 3, axis=-1)[2] + r_RH * jnp.split(h_R3H, 3, axis=-1)[2])
  h_RH = (1 - z_RH) * h_RH + z_RH * candidate_RH
  logits_RV = h_RH @ p['out'] + 0.5 * state['step'] * (jnp.arange(GRU_VOCAB) == EOS)
  return logits_RV, {'h': h_RH, 'step': state['step'] + 1}


def gru_state(batch, seed=1):
  return {'h': jax.random.normal(jax.random.PRNGKey(seed), (batch, GRU_HIDDEN)), 'step': jnp.zeros((), jnp.int32)}


def _row(state, b):
  return jax.tree.map(lambda x: x[b:b + 1] if x.ndim else x, state)


def _lp(length, alpha):
  return ((5.0 + length) / 6.0) ** alpha


def _assert_score(got, want, max_len, vocab):
  """A score sums up to max_len log-softmaxes over the vocabulary (each a V-term log-sum-exp of logits up to
  about 10 in size) and divides by the length penalty."""
  tolerances.assert_close(got, want, max_len * (vocab + 2), scale=max(10.0, abs(float(want))))


def test_beam_size_one_is_greedy():
  for step_fn, state, max_len in [(table_step, table_state(random_tables(0, batch=6)), 6),
                                  (gru_step, gru_state(6), 6)]:
    tokens, lengths = _jit(decoding.greedy_decode, step_fn, bos_id=BOS, eos_id=EOS, max_len=max_len)(state)
    beam_tokens, beam_lengths, _ = _jit(decoding.beam_search, step_fn, beam_size=1, bos_id=BOS, eos_id=EOS,
                                        max_len=max_len)(state)
    np.testing.assert_array_equal(beam_tokens, tokens)
    np.testing.assert_array_equal(beam_lengths, lengths)
    assert len(set(np.asarray(lengths).tolist())) > 1  # Some rows end early, some later.


def _best_by_enumeration(table_LVVV, max_len, alpha):
  """The best (tokens, score) over every sequence: EOS-terminated ones up to max_len and EOS-free ones of max_len."""
  table = np.asarray(table_LVVV, np.float64)
  logp_LVVV = table - np.log(np.exp(table).sum(-1, keepdims=True))
  vocab, best = table.shape[-1], (None, -np.inf)
  others = [v for v in range(vocab) if v != EOS]
  candidates = [prefix + (EOS,) for n in range(max_len) for prefix in itertools.product(others, repeat=n)]
  candidates += list(itertools.product(others, repeat=max_len))
  for seq in candidates:
    total, prev, fed = 0.0, BOS, BOS
    for pos, token in enumerate(seq):
      total += logp_LVVV[pos, prev, fed, token]
      prev, fed = fed, token
    score = total / _lp(len(seq), alpha)
    if score > best[1]:
      best = (list(seq), score)
  return best


def test_wide_beam_finds_the_exhaustive_optimum():
  max_len, tables = 3, random_tables(1, batch=5, positions=3, vocab=4, scale=1.5)
  for alpha in (0.0, 1.0):
    tokens, lengths, scores = _jit(decoding.beam_search, table_step, beam_size=4 ** max_len, bos_id=BOS,
                                   eos_id=EOS, max_len=max_len, length_penalty=alpha)(table_state(tables))
    found_lengths = set()
    for b in range(len(tables)):
      seq, score = _best_by_enumeration(tables[b], max_len, alpha)
      assert np.asarray(tokens[b, :lengths[b]]).tolist() == seq, (alpha, b)
      assert np.asarray(tokens[b, lengths[b]:]).tolist() == [0] * (max_len - len(seq))
      _assert_score(scores[b], score, max_len, 4)
      found_lengths.add(len(seq))
    assert len(found_lengths) > 1  # Both early EOS and full-length winners are exercised.


def _hand_table(vocab, positions, rules, default):
  """A one-row table: rules map (position, previous token, fed token) to {token: probability}; the rest of
  each distribution (and every unlisted context: `default`) is spread evenly. Returns (table, probabilities)."""
  def dist(probs):
    rest = (1.0 - sum(probs.values())) / (vocab - len(probs))
    return np.array([probs.get(v, rest) for v in range(vocab)])
  p = np.broadcast_to(dist(default), (1, positions, vocab, vocab, vocab)).copy()
  for (pos, prev, fed), probs in rules.items():
    p[0, pos, prev, fed] = dist(probs)
  return np.log(p), p[0]


def test_beam_two_beats_greedy_where_greedy_is_myopic():
  # The first step ranks 3 (0.5) over 4 (0.45); both go on to 5, but 4 5 (0.405) overtakes 3 5 (0.25), so the
  # beams swap slots. After 3 5 the best is EOS at 0.3 (greedy's 3 5 EOS: 0.075); after 4 5 EOS has 0.95 (0.385). The
  # last step reads the token before 5 from the state, so 4 5 EOS is only found if states follow their beams.
  table, p = _hand_table(6, 4, {(0, BOS, BOS): {3: 0.5, 4: 0.45}, (1, BOS, 3): {5: 0.5}, (1, BOS, 4): {5: 0.9},
                                (2, 4, 5): {EOS: 0.95}}, default={EOS: 0.3})
  state = table_state(table)
  tokens, lengths = _jit(decoding.greedy_decode, table_step, bos_id=BOS, eos_id=EOS, max_len=4)(state)
  assert np.asarray(tokens[0]).tolist() == [3, 5, EOS, 0] and int(lengths[0]) == 3
  for beam_size, expected, probability in [(1, [3, 5, EOS], p[0, BOS, BOS, 3] * p[1, BOS, 3, 5] * p[2, 3, 5, EOS]),
                                           (2, [4, 5, EOS], p[0, BOS, BOS, 4] * p[1, BOS, 4, 5] * p[2, 4, 5, EOS])]:
    tokens, lengths, scores = _jit(decoding.beam_search, table_step, beam_size=beam_size, bos_id=BOS, eos_id=EOS,
                                   max_len=4)(state)
    assert np.asarray(tokens[0]).tolist() == expected + [0], beam_size
    assert int(lengths[0]) == 3
    _assert_score(scores[0], np.log(probability), 4, 6)


def test_length_penalty_keeps_searching_while_a_longer_hypothesis_can_win():
  # EOS first (0.5) beats 3 3 EOS (0.35 * 0.99^2) on log-prob, but with alpha 2 the longer one wins:
  # log(0.343) / (8/6)^2 = -0.602 > log(0.5) / 1 = -0.693. After step 1 the alive 3 (log 0.35) must be bounded
  # with lp(max_len): over lp(2) it would look hopeless (-0.771 < -0.693) and the search would stop.
  table, p = _hand_table(5, 6, {(0, BOS, BOS): {EOS: 0.5, 3: 0.35}, (1, BOS, 3): {3: 0.99}, (2, 3, 3): {EOS: 0.99}},
                         default={})
  state = table_state(table)
  for alpha, expected in [(0.0, [EOS]), (2.0, [3, 3, EOS])]:
    tokens, lengths, scores = _jit(decoding.beam_search, table_step, beam_size=1, bos_id=BOS, eos_id=EOS,
                                   max_len=6, length_penalty=alpha)(state)
    assert np.asarray(tokens[0, :lengths[0]]).tolist() == expected, alpha
    log_prob = sum(np.log(p[pos, prev, fed, token]) for pos, (prev, fed, token) in
                   enumerate(zip([BOS, BOS] + expected, [BOS] + expected, expected)))
    _assert_score(scores[0], log_prob / _lp(len(expected), alpha), 6, 5)


def test_greedy_equals_a_python_loop_row_by_row():
  # The models and shapes of test_beam_size_one_is_greedy, so its compiled decoder is reused.
  for step_fn, state in [(table_step, table_state(random_tables(0, batch=6))), (gru_step, gru_state(6))]:
    tokens, lengths = _jit(decoding.greedy_decode, step_fn, bos_id=BOS, eos_id=EOS, max_len=6)(state)
    for b in range(6):
      row_state, token, expected = _row(state, b), jnp.array([BOS]), []
      while len(expected) < 6 and (not expected or expected[-1] != EOS):
        logits, row_state = step_fn(token, row_state)
        token = jnp.argmax(logits, axis=-1)
        expected.append(int(token[0]))
      assert int(lengths[b]) == len(expected)
      assert np.asarray(tokens[b]).tolist() == expected + [0] * (6 - len(expected))


def test_rows_decode_independently():
  # The GRU: its batched matmuls and per-beam hidden states are where rows could mix.
  state = gru_state(6)
  greedy = _jit(decoding.greedy_decode, gru_step, bos_id=BOS, eos_id=EOS, max_len=6)
  beam = _jit(decoding.beam_search, gru_step, beam_size=3, bos_id=BOS, eos_id=EOS, max_len=6, length_penalty=0.6)
  batch_greedy, batch_beam = greedy(state), beam(state)
  for b in range(6):
    for batched, alone in [(batch_greedy, greedy(_row(state, b))), (batch_beam, beam(_row(state, b)))]:
      tokens, lengths = batched[:2]
      np.testing.assert_array_equal(tokens[b], alone[0][0])  # Integers: exactly.
      np.testing.assert_array_equal(lengths[b], alone[1][0])
      if len(batched) == 3:  # Beam scores: 6 GRU steps (8 + 3 · 8 terms each) and a 7-way log-softmax per token.
        _assert_score(batched[2][b], alone[2][0], 6 * (8 + 3 * 8), GRU_VOCAB)


def test_loops_stop_once_every_row_has_finished():
  calls = []

  def eos_step(tokens_R, state):  # Puts nearly all mass on EOS; counts its runs on the host.
    jax.debug.callback(lambda: calls.append(1))
    return jnp.where(jnp.arange(4) == EOS, 10.0, 0.0)[None].repeat(tokens_R.shape[0], 0), state

  state = {'h': jnp.zeros((3, 1))}
  _, lengths = _jit(decoding.greedy_decode, eos_step, bos_id=BOS, eos_id=EOS, max_len=6)(state)
  jax.effects_barrier()
  assert np.asarray(lengths).tolist() == [1, 1, 1] and len(calls) == 1
  calls.clear()
  _, lengths, _ = _jit(decoding.beam_search, eos_step, beam_size=2, bos_id=BOS, eos_id=EOS, max_len=6)(state)
  jax.effects_barrier()
  # Step 1 finishes EOS (log-prob about 0); step 2 fills the second finished slot with x EOS (about -10), which the
  # alive ones (about -20) cannot beat, so the search ends two steps in, not at max_len.
  assert np.asarray(lengths).tolist() == [1, 1, 1] and len(calls) == 2
