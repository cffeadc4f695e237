"""Norm-preserving recurrence matrices: the uRNN's structured unitary matrix and expRNN's orthogonal expm(A).

Both are functions of their parameters that give an exactly unitary (orthogonal) matrix for any parameter
values, so plain optimizer steps keep the recurrence norm-preserving; no projection or retraction is needed.

Row-vector convention, as the rest of models/rnn.py: a state row h (B, H) steps as h @ M, so the matrices
returned here are the transposes of the papers' W (transposing keeps them unitary / orthogonal).

A complex state z = x + i y of N units is carried as the real row [x, y] of width 2N, and a complex M = A + i B
as the real (2N, 2N) block [[A, B], [-B, A]]: [x, y] @ that = [x A - y B, x B + y A], the parts of z @ M.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np


def fixed_permutation(num_units: int) -> np.ndarray:
  """The uRNN's permutation Π: fixed (not learned), drawn once from a seed that depends only on the size, so
  every run and checkpoint of a given width steps through the same Π."""
  return np.random.RandomState(num_units).permutation(num_units)


def _reflect(z_BN, v_N):
  """(I - 2 v vᴴ / |v|²) applied to each row z (as a column vector): z - 2 v (vᴴ z) / |v|²."""
  projection_B1 = jnp.sum(jnp.conj(v_N) * z_BN, axis=-1, keepdims=True) / jnp.sum(jnp.abs(v_N) ** 2)
  return z_BN - 2.0 * projection_B1 * v_N


def urnn_apply(params, z_BN):
  """W z for each row z of z_BN (complex), W = D3 R2 F⁻¹ D2 Π R1 F D1 (Arjovsky, Shah & Bengio 2016, eq. 6).

  params: 'phases' (3, N) of the diagonals D_k = diag(exp(i θ_k)); 'reflections' (2, 2, N): the real and
  imaginary parts of R1's and R2's vectors. F is the unitary DFT (norm='ortho'), so every factor is unitary.
  """
  phases_3N, reflections_22N = params['phases'], params['reflections']
  diagonal = lambda k: jnp.exp(1j * phases_3N[k])
  reflection = lambda k: reflections_22N[k, 0] + 1j * reflections_22N[k, 1]
  z_BN = z_BN * diagonal(0)
  z_BN = jnp.fft.fft(z_BN, axis=-1, norm='ortho')
  z_BN = _reflect(z_BN, reflection(0))
  z_BN = z_BN[:, fixed_permutation(z_BN.shape[-1])]
  z_BN = z_BN * diagonal(1)
  z_BN = jnp.fft.ifft(z_BN, axis=-1, norm='ortho')
  z_BN = _reflect(z_BN, reflection(1))
  return z_BN * diagonal(2)


def urnn_matrix(params) -> jax.Array:
  """The complex (N, N) M with z @ M = W z for row vectors z, i.e. M = Wᵀ: W applied to the identity's rows."""
  num_units = params['phases'].shape[-1]
  return urnn_apply(params, jnp.eye(num_units, dtype=jnp.complex64))


def complex_as_real(m_NN) -> jax.Array:
  """The real (2N, 2N) block that steps real rows [x, y] as the complex m steps rows x + i y."""
  a_NN, b_NN = jnp.real(m_NN), jnp.imag(m_NN)
  return jnp.block([[a_NN, b_NN], [-b_NN, a_NN]])


def urnn_init(key, num_units: int) -> dict:
  """Arjovsky et al.'s initialization: phases uniform in [-π, π), reflection vectors' parts uniform in [-1, 1]."""
  phase_key, reflection_key = jax.random.split(key)
  return {'phases': jax.random.uniform(phase_key, (3, num_units), minval=-math.pi, maxval=math.pi),
          'reflections': jax.random.uniform(reflection_key, (2, 2, num_units), minval=-1.0, maxval=1.0)}


def skew_size(size: int) -> int:
  """Free parameters of a (size, size) skew-symmetric matrix: its strictly lower triangle."""
  return size * (size - 1) // 2


def skew_symmetric(lower_P, size: int) -> jax.Array:
  """A = L - Lᵀ, L strictly lower triangular with entries lower_P in np.tril_indices(size, -1) order."""
  rows, cols = np.tril_indices(size, -1)
  lower_HH = jnp.zeros((size, size), lower_P.dtype).at[rows, cols].set(lower_P)
  return lower_HH - lower_HH.T


def exprnn_matrix(lower_P, size: int) -> jax.Array:
  """expm(A), A skew-symmetric: orthogonal for any parameter values (Lezcano-Casado & Martínez-Rubio 2019)."""
  return jax.scipy.linalg.expm(skew_symmetric(lower_P, size))


def henaff_init(size: int):
  """Initializer of the strictly lower triangle (skew_size(size),) of A: A block-diagonal in 2×2 generators
  [[0, -s], [s, 0]], s uniform in [-π, π] (Henaff, Szlam & LeCun 2016), so expm(A) starts as independent planar
  rotations, the initialization expRNN uses on the copying task."""
  rows, cols = np.tril_indices(size, -1)
  block_entries = np.flatnonzero((rows == cols + 1) & (cols % 2 == 0))

  def init(key, shape, dtype=jnp.float32):
    s_K = jax.random.uniform(key, (len(block_entries),), dtype, minval=-math.pi, maxval=math.pi)
    return jnp.zeros(shape, dtype).at[block_entries].set(s_K)
  return init


def modrelu(z_BH, bias_H):
  """Real modReLU: sign(z) relu(|z| + b); keeps each unit's sign (its 'phase') and shifts its modulus."""
  return jnp.sign(z_BH) * jax.nn.relu(jnp.abs(z_BH) + bias_H)


def complex_modrelu(xy_BH, bias_H, eps: float = 1e-6):
  """modReLU of complex units carried as [x, y]: relu(|z| + b) z / |z|, with |z| = sqrt(x² + y² + eps) so the
  gradient at z = 0 is finite."""
  xy_B2N = xy_BH.reshape(xy_BH.shape[:-1] + (2, -1))  # H = 2N: the real parts, then the imaginary ones.
  modulus_B1N = jnp.sqrt(jnp.sum(xy_B2N ** 2, axis=-2, keepdims=True) + eps)
  scale_B1N = jax.nn.relu(modulus_B1N + bias_H) / modulus_B1N  # bias_H: one per complex unit, (N,).
  return (xy_B2N * scale_B1N).reshape(xy_BH.shape)
