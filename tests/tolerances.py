"""Tolerances for float32 results, derived from the computation instead of chosen until a test passes.

A float32 operation rounds with a relative error of at most eps/2 (eps = 2^-23, about 1.2e-7). A value that
accumulates `terms` rounded operations on numbers of size about `scale` (a dot product of length n, a sum of n
values, a recurrence of T steps of n-term dot products: T·n) errs by at most terms · eps · scale, and typically
by sqrt(terms) · eps · scale, the roundings being independent and of either sign (Higham, "Accuracy and Stability
of Numerical Algorithms", 2002, §2.8 and §3.1). The tolerance is that typical error times SAFETY, which covers
comparing two float32 computations of one value (their errors add), the few ulp of each exp, tanh or erf, and
fused multiply-adds that one processor uses and another does not. It is an absolute tolerance on the scale of
the terms, not a relative one on each element: an element that cancels to near zero keeps the error of the terms
that made it. A wrong formula errs by the order of `scale` itself, far beyond it.

Where a reference can be computed in float64 (numpy, or jax under `jax.enable_x64`), the float32 side is the only
one that rounds; two float64 computations compare with the same formula at `dtype=jnp.float64`.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np

SAFETY = 8.0


def eps(dtype=jnp.float32) -> float:
  return float(jnp.finfo(dtype).eps)


def atol(terms: float, scale: float, dtype=jnp.float32) -> float:
  """The error allowed in a `dtype` value built from `terms` rounded operations on numbers of size `scale`."""
  return SAFETY * eps(dtype) * math.sqrt(terms) * float(scale)


def rel(terms: float, dtype=jnp.float32) -> float:
  """The relative error allowed in a scalar whose terms have its own size (no cancellation): for pytest.approx."""
  return SAFETY * eps(dtype) * math.sqrt(terms)


def transformer_terms(width: int, depth: int, length: int, mlp_ratio: int = 4, num_heads: int = 1) -> int:
  """Rounded operations behind a logit of a `depth`-block Transformer: per block, the layer norms and the
  query/key/value, output and first feed-forward projections (width terms each), the attention scores (head
  width) and weighted sum (length), the second feed-forward projection (mlp_ratio · width); then the final norm
  and the softmax projection."""
  block = 6 * width + width // num_heads + length + mlp_ratio * width
  return depth * block + 2 * width


def _scale_of(desired) -> float:
  return float(np.abs(np.asarray(desired, np.float64)).max(initial=0.0))


def assert_close(actual, desired, terms: float, scale: float | None = None, dtype=jnp.float32, err_msg: str = ''):
  """|actual - desired| <= atol(terms, scale) everywhere; `scale` defaults to the largest |desired|."""
  desired = np.asarray(desired, np.float64)
  scale = _scale_of(desired) if scale is None else scale
  tolerance = atol(terms, scale, dtype)
  np.testing.assert_allclose(
      np.asarray(actual, np.float64), desired, rtol=0, atol=tolerance,
      err_msg=f'{err_msg} ({jnp.dtype(dtype).name} tolerance {tolerance:.3g}: {terms} terms of size {scale:.3g})')


def assert_trees_close(actual, desired, terms: float, err_msg: str = ''):
  """assert_close on every leaf of two pytrees, each leaf at its own scale."""
  paths_and_desired = jax.tree_util.tree_leaves_with_path(desired)
  actual_leaves = jax.tree.leaves(actual)
  assert len(actual_leaves) == len(paths_and_desired), (len(actual_leaves), len(paths_and_desired))
  for (path, want), got in zip(paths_and_desired, actual_leaves):
    assert_close(got, want, terms, err_msg=f'{err_msg} {jax.tree_util.keystr(path)}')
