"""Recurrent layers: a cell is a pure step function, unrolled with jax.lax.scan.

The input projection x_t W + b of every step is one matmul hoisted out of the
scan; inside it only the recurrent matmul remains. BPTT is autodiff through the
scan.
"""
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

ACTIVATIONS: dict[str, Callable] = {'tanh': jnp.tanh, 'relu': jax.nn.relu, 'linear': lambda x: x}


def elman_step(recurrent_kernel_HH, activation: Callable, h_BH, xw_BH):
  """One Elman step: h_t = act(x_t W + b + h_{t-1} U), with x_t W + b precomputed."""
  return activation(xw_BH + h_BH @ recurrent_kernel_HH)


def scan_steps(step: Callable, h0_BH, xw_BTH, unroll: int = 1):
  """Runs `step(h, xw_t) -> h` over time; returns (all states (B, T, H), last state)."""
  def body(h_BH, xw_BH):
    h_BH = step(h_BH, xw_BH)
    return h_BH, h_BH
  h_last_BH, h_TBH = jax.lax.scan(body, h0_BH, jnp.swapaxes(xw_BTH, 0, 1), unroll=unroll)
  return jnp.swapaxes(h_TBH, 0, 1), h_last_BH


class ElmanLayer(nn.Module):
  """A simple (Elman) RNN layer with Keras's initializers: returns every state."""
  features: int
  activation: str = 'tanh'
  unroll: int = 1

  @nn.compact
  def __call__(self, x_BTD, h0_BH=None):
    kernel_DH = self.param('kernel', nn.initializers.glorot_uniform(), (x_BTD.shape[-1], self.features))
    recurrent_HH = self.param('recurrent_kernel', nn.initializers.orthogonal(), (self.features, self.features))
    bias_H = self.param('bias', nn.initializers.zeros_init(), (self.features,))
    xw_BTH = jnp.einsum('btd,dh->bth', x_BTD, kernel_DH) + bias_H
    if h0_BH is None:
      h0_BH = jnp.zeros((x_BTD.shape[0], self.features), xw_BTH.dtype)
    step = lambda h, xw: elman_step(recurrent_HH, ACTIVATIONS[self.activation], h, xw)
    return scan_steps(step, h0_BH, xw_BTH, self.unroll)


CELLS = {'elman': ElmanLayer}
