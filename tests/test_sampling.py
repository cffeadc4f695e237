"""Sampling: greedy equals a loop over full forward passes, seeds reproduce, filters keep the right tokens."""
import jax
import jax.numpy as jnp
import numpy as np

import models
from tasks import sampling


def _model():
  model = models.lm.RNNLM(vocab_size=13, embed_dim=6, hidden_sizes=(16, 16), cell='lstm')
  prompt = jnp.array([[3, 1, 4, 1, 5]])
  params = model.init(jax.random.PRNGKey(0), prompt, model.initial_carry(1))['params']
  apply_fn = lambda p, tokens, carry: model.apply({'params': p}, tokens, carry)
  return model, params, prompt, apply_fn


def test_greedy_generation_equals_argmax_of_full_forward_passes():
  model, params, prompt, apply_fn = _model()
  tokens = sampling.generate(apply_fn, params, prompt, model.initial_carry(1), jax.random.PRNGKey(0),
                             num_tokens=6, temperature=0.0)
  sequence = list(np.asarray(prompt[0]))
  for _ in range(6):  # Reference: rerun the whole sequence from scratch for every new token.
    logits, _ = apply_fn(params, jnp.array([sequence]), model.initial_carry(1))
    sequence.append(int(jnp.argmax(logits[0, -1])))
  assert np.asarray(tokens[0]).tolist() == sequence[5:]


def test_sampling_is_reproducible_for_a_seed_and_streams_every_token():
  model, params, prompt, apply_fn = _model()
  streamed = []
  draw = lambda seed, **kw: np.asarray(sampling.generate(
      apply_fn, params, prompt, model.initial_carry(1), jax.random.PRNGKey(seed), num_tokens=30,
      temperature=1.5, **kw))
  first = draw(7, on_token=lambda t: streamed.append(int(np.asarray(t)[0])))
  jax.effects_barrier()
  np.testing.assert_array_equal(first, draw(7))
  assert not np.array_equal(first, draw(8))
  assert streamed == first[0].tolist()


def test_top_k_of_one_is_greedy():
  model, params, prompt, apply_fn = _model()
  greedy = sampling.generate(apply_fn, params, prompt, model.initial_carry(1), jax.random.PRNGKey(0),
                             num_tokens=10, temperature=0.0)
  top1 = sampling.generate(apply_fn, params, prompt, model.initial_carry(1), jax.random.PRNGKey(3),
                           num_tokens=10, temperature=2.0, top_k=1)
  np.testing.assert_array_equal(greedy, top1)


def test_filters_on_a_hand_computed_case():
  logits = jnp.log(jnp.array([[0.05, 0.5, 0.15, 0.3]]))
  kept = lambda **kw: (sampling.filter_logits(logits, 1.0, **kw) > jnp.finfo(jnp.float32).min)[0].tolist()
  assert kept(top_p=0.7) == [False, True, False, True]  # 0.5 + 0.3 reaches 0.7.
  assert kept(top_p=0.5) == [False, True, False, False]
  assert kept(top_p=0.81) == [False, True, True, True]
  assert kept(top_k=2) == [False, True, False, True]
  np.testing.assert_allclose(sampling.filter_logits(logits, 2.0), logits / 2.0, rtol=1e-6)
