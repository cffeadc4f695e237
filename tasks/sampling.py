"""Sampling from any model with the LM interface (tokens, carry) -> (logits, carry).

The prompt runs through the model in one call (a scan inside it); generation is
one jitted lax.scan over a fixed number of steps, so nothing recompiles per
token. A host callback streams each token as it is drawn.
"""
import functools
from typing import Callable

import jax
import jax.numpy as jnp
from jax.experimental import io_callback


def filter_logits(logits_BV, temperature: float, top_k: int = 0, top_p: float = 1.0):
  """Scaled logits with everything outside the top-k and the top-p nucleus set to the float32 minimum."""
  logits_BV = logits_BV.astype(jnp.float32) / temperature
  masked = jnp.finfo(jnp.float32).min
  if top_k > 0:
    kth_BV = jax.lax.top_k(logits_BV, top_k)[0][:, -1:]
    logits_BV = jnp.where(logits_BV < kth_BV, masked, logits_BV)
  if top_p < 1.0:
    sorted_BV = jnp.sort(logits_BV, axis=-1)[:, ::-1]
    cumulative_BV = jnp.cumsum(jax.nn.softmax(sorted_BV, axis=-1), axis=-1)
    # The smallest set whose probability reaches top_p: keep a token if the mass before it is < top_p.
    keep_BV = (cumulative_BV - jax.nn.softmax(sorted_BV, axis=-1)) < top_p
    cutoff_B1 = jnp.min(jnp.where(keep_BV, sorted_BV, jnp.inf), axis=-1, keepdims=True)
    logits_BV = jnp.where(logits_BV < cutoff_B1, masked, logits_BV)
  return logits_BV


def choose(logits_BV, rng, temperature: float, top_k: int, top_p: float):
  """Greedy at temperature 0, else a draw from the filtered distribution."""
  if temperature == 0:
    return jnp.argmax(logits_BV, axis=-1).astype(jnp.int32)
  return jax.random.categorical(rng, filter_logits(logits_BV, temperature, top_k, top_p)).astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=('apply_fn', 'num_tokens', 'temperature', 'top_k', 'top_p', 'on_token'))
def generate(apply_fn: Callable, params, prompt_BT, carry, rng, *, num_tokens: int, temperature: float = 1.0,
             top_k: int = 0, top_p: float = 1.0, on_token: Callable | None = None):
  """Returns (B, num_tokens) tokens continuing `prompt_BT`.

  `apply_fn(params, tokens_BT, carry) -> (logits_BTV, carry)`. `on_token(tokens_B)`, if given,
  is called on the host for every generated step, in order.
  """
  logits_BTV, carry = apply_fn(params, prompt_BT, carry)

  def step(state, rng_t):
    logits_BV, carry = state
    token_B = choose(logits_BV, rng_t, temperature, top_k, top_p)
    if on_token is not None:
      io_callback(on_token, None, token_B, ordered=True)
    logits_B1V, carry = apply_fn(params, token_B[:, None], carry)
    return (logits_B1V[:, -1], carry), token_B

  _, tokens_TB = jax.lax.scan(step, (logits_BTV[:, -1], carry), jax.random.split(rng, num_tokens))
  return tokens_TB.T
