"""Recursive networks over binary parse trees, batched under jit: every node's state feeds a softmax.

- 'recnn': Socher et al. (2011)'s recursive network, p = tanh(W [a; b] + bias).
- 'rntn': Socher et al. (2013)'s recursive neural tensor network, p = tanh([a; b]ᵀ V [a; b] + W [a; b] + bias),
  V holding one (2d, 2d) slice per output unit.
- 'tree_lstm': the binary (constituency, N-ary with N = 2) Tree-LSTM of Tai et al. (2015): input, output and
  update gates and one forget gate per child, each from both children's h; a leaf is a node without
  children whose input is its word vector (internal nodes have no input).

In the RecNN and RNTN a leaf's state is its word vector (so model.embed_dim is both); the Tree-LSTM's leaves read
word vectors of model.embed_dim into states of model.hidden_size.

Schedule: rows of internal nodes, as a lax.scan over the batch's 'levels' (data/trees.py: each node in a
later row than its children; rows of one width, filled deepest node first, about as many as the tallest
tree's height). Each scan step composes one row's nodes across all trees of the batch in one matmul,
gathering the children's states from a (B·J + 1, Z) buffer and scattering the results back (row B·J is
scratch, the target of padded slots). A step per row instead of a step per node slot (post-order: up to
2·length - 1 steps of B nodes) gives fewer, wider matmuls, which is what keeps the step cheap on a CPU;
rows of one width instead of one row per height cut the padded slots 2-3 fold (the lowest levels hold
most nodes). The leaves (their embeddings and, for the Tree-LSTM, their cells) and every node's softmax
are single batched ops outside the scan. The Tree-LSTM's scan has a hand-written backward pass
(tree_lstm_levels), twice as fast as autodiff's. Measured by bench/tree_lstm.py.

Mixed precision (model.dtype): bfloat16 operands for the composition matmuls (W, U, the RNTN's tensor) and
the softmax layer; float32 for their accumulators, the node states (a Tree-LSTM's c sums over the whole
subtree) and the logits.
"""
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from models import precision
from models import registry

CELLS = ('recnn', 'rntn', 'tree_lstm')


def recnn_compose(params, left_UD, right_UD, dtype=jnp.float32):
  children_U2D = jnp.concatenate([left_UD, right_UD], -1)
  return jnp.tanh(precision.matmul(children_U2D, params['W'], dtype) + params['bias'])


def rntn_compose(params, left_UD, right_UD, dtype=jnp.float32):
  children_U2D = jnp.concatenate([left_UD, right_UD], -1)
  # [a; b]ᵀ V[k] [a; b] for every output unit k: V contracted with one copy, then the other.
  tensor_U2DD = precision.einsum('ui,ijk->ujk', children_U2D, params['V'], dtype)
  tensor_UD = jnp.einsum('uj,ujk->uk', children_U2D, tensor_U2DD)
  return jnp.tanh(tensor_UD + precision.matmul(children_U2D, params['W'], dtype) + params['bias'])


def _tree_lstm_gates(z_U5H):
  """(i, f_left, f_right, o, u) from the pre-activations, gates laid out in that order."""
  H = z_U5H.shape[-1] // 5
  i, f_left, f_right, o = (jax.nn.sigmoid(z_U5H[:, k * H:(k + 1) * H]) for k in range(4))
  return i, f_left, f_right, o, jnp.tanh(z_U5H[:, 4 * H:])


def tree_lstm_node(params, x_UD, left_U2H, right_U2H, dtype=jnp.float32):
  """(h; c) of nodes from their input (None at internal nodes) and children's (h; c) (0 at leaves)."""
  H = left_U2H.shape[-1] // 2
  h_children_U2H = jnp.concatenate([left_U2H[:, :H], right_U2H[:, :H]], -1)
  z_U5H = precision.matmul(h_children_U2H, params['U'], dtype) + params['bias']
  if x_UD is not None:
    z_U5H = z_U5H + precision.matmul(x_UD, params['W'], dtype)
  i, f_left, f_right, o, u = _tree_lstm_gates(z_U5H)
  c = i * u + f_left * left_U2H[:, H:] + f_right * right_U2H[:, H:]
  return jnp.concatenate([o * jnp.tanh(c), c], -1)


def _scan_levels(compose, states_RZ, left_R, right_R, levels_HU):
  """Composes the nodes of each row of levels_HU from their children's states, row after row."""
  def level(states_RZ, nodes_U):
    new_UZ = compose(states_RZ[left_R[nodes_U]], states_RZ[right_R[nodes_U]])
    return states_RZ.at[nodes_U].set(new_UZ), None
  return jax.lax.scan(level, states_RZ, levels_HU)[0]


@functools.partial(jax.custom_vjp, nondiff_argnums=(6,))
def tree_lstm_levels(kernel_2H5H, bias_5H, states_R2H, left_R, right_R, levels_HU, dtype=jnp.float32):
  """The Tree-LSTM's internal nodes, level by level (_scan_levels), with a hand-written backward pass.

  Autodiff of the scan took 5-6x the forward's time (it carries every level's residuals and accumulates the
  weight gradients step by step). Here the reverse scan recomputes each level's gates from the children's
  final states (every node is written once, so the forward's result holds them all) and passes the state
  gradients down to the children; the weight gradients are then one matmul over every level's nodes.
  """
  compose = lambda left, right: tree_lstm_node({'U': kernel_2H5H, 'bias': bias_5H}, None, left, right, dtype)
  return _scan_levels(compose, states_R2H, left_R, right_R, levels_HU)


def _tree_lstm_levels_fwd(kernel_2H5H, bias_5H, states_R2H, left_R, right_R, levels_HU, dtype):
  final_R2H = tree_lstm_levels(kernel_2H5H, bias_5H, states_R2H, left_R, right_R, levels_HU, dtype)
  return final_R2H, (kernel_2H5H, bias_5H, final_R2H, left_R, right_R, levels_HU)


def _tree_lstm_levels_bwd(dtype, residuals, d_final_R2H):
  kernel_2H5H, bias_5H, final_R2H, left_R, right_R, levels_HU = residuals
  H = kernel_2H5H.shape[0] // 2

  def level(d_R2H, nodes_U):
    left_U, right_U = left_R[nodes_U], right_R[nodes_U]
    left_U2H, right_U2H = final_R2H[left_U], final_R2H[right_U]
    h_children_U2H = jnp.concatenate([left_U2H[:, :H], right_U2H[:, :H]], -1)
    i, f_left, f_right, o, u = _tree_lstm_gates(precision.matmul(h_children_U2H, kernel_2H5H, dtype) + bias_5H)
    tanh_c = jnp.tanh(final_R2H[nodes_U, H:])
    dh_UH, dc_UH = d_R2H[nodes_U, :H], d_R2H[nodes_U, H:]
    dc_UH = dc_UH + dh_UH * o * (1.0 - tanh_c * tanh_c)
    dz_U5H = jnp.concatenate([dc_UH * u * i * (1.0 - i), dc_UH * left_U2H[:, H:] * f_left * (1.0 - f_left),
                              dc_UH * right_U2H[:, H:] * f_right * (1.0 - f_right), dh_UH * tanh_c * o * (1.0 - o),
                              dc_UH * i * (1.0 - u * u)], -1)
    dh_children_U2H = precision.matmul(dz_U5H, kernel_2H5H.T, dtype)
    # The forward overwrote these rows (their initial values get no gradient), then read the children.
    d_R2H = d_R2H.at[nodes_U].set(0.0)
    d_R2H = d_R2H.at[left_U].add(jnp.concatenate([dh_children_U2H[:, :H], dc_UH * f_left], -1))
    d_R2H = d_R2H.at[right_U].add(jnp.concatenate([dh_children_U2H[:, H:], dc_UH * f_right], -1))
    return d_R2H, (h_children_U2H, dz_U5H)

  d_states_R2H, (h_children_HU2H, dz_HU5H) = jax.lax.scan(level, d_final_R2H, levels_HU, reverse=True)
  h_children_R2H = h_children_HU2H.reshape(-1, 2 * H)
  dz_R5H = dz_HU5H.reshape(-1, 5 * H)
  d_kernel = precision.matmul(h_children_R2H.T, dz_R5H, dtype)
  return d_kernel, dz_R5H.sum(0), d_states_R2H, None, None, None


tree_lstm_levels.defvjp(_tree_lstm_levels_fwd, _tree_lstm_levels_bwd)


class RecursiveClassifier(nn.Module):
  """batch (data/trees.py's layout) -> logits (B, J, num_classes) float32, one row per node (padding
  nodes too: their logits are meaningless)."""
  vocab_size: int
  num_classes: int
  cell: str = 'tree_lstm'
  embed_dim: int = 300  # Word vectors (and, in the RecNN and RNTN, every node's state).
  hidden_size: int = 150  # The Tree-LSTM's state; unused by the others.
  dropout: float = 0.0  # On node states before the softmax.
  embed_init_std: float = 0.1  # Random word vectors: normal with this deviation.
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, batch, train: bool = False):
    tokens_BJ, left_BJ, right_BJ = batch['tokens'], batch['left'], batch['right']
    B, J = tokens_BJ.shape
    # Leaves only (about half the nodes): the rest of the buffer starts at 0 and is composed below.
    scratch, leaves_L = B * J, batch['leaves']
    tokens_R = jnp.append(tokens_BJ.reshape(-1), 0)  # The scratch row reads the padding id.
    x_LD = nn.Embed(self.vocab_size, self.embed_dim, embedding_init=nn.initializers.normal(self.embed_init_std),
                    name='embed')(tokens_R[leaves_L])
    params = self._compose_params()
    if self.cell == 'tree_lstm':
      no_children_L2H = jnp.zeros((leaves_L.shape[0], 2 * self.hidden_size), jnp.float32)
      leaves_LZ = tree_lstm_node(params, x_LD, no_children_L2H, no_children_L2H, self.dtype)
    else:
      leaves_LZ = x_LD
    states_RZ = jnp.zeros((B * J + 1, leaves_LZ.shape[-1]), leaves_LZ.dtype).at[leaves_L].set(leaves_LZ)
    # Children as rows of the flat buffer; leaves, padding and the scratch row point at the scratch row.
    is_internal_BJ = left_BJ >= 0
    offset_B1 = (jnp.arange(B) * J)[:, None]
    child_rows = lambda c_BJ: jnp.append(jnp.where(is_internal_BJ, c_BJ + offset_B1, scratch).reshape(-1), scratch)
    left_R, right_R = child_rows(left_BJ), child_rows(right_BJ)
    if self.cell == 'tree_lstm':
      states_RZ = tree_lstm_levels(params['U'], params['bias'], states_RZ, left_R, right_R, batch['levels'],
                                   self.dtype)
    else:
      step = recnn_compose if self.cell == 'recnn' else rntn_compose
      compose = lambda left, right: step(params, left, right, self.dtype)
      states_RZ = _scan_levels(compose, states_RZ, left_R, right_R, batch['levels'])
    out_BJZ = states_RZ[:B * J].reshape(B, J, -1)
    if self.cell == 'tree_lstm':
      out_BJZ = out_BJZ[..., :self.hidden_size]  # h; c stays inside the tree.
    out_BJZ = nn.Dropout(self.dropout, deterministic=not train)(out_BJZ)
    return precision.dense(self.num_classes, self.dtype, name='classify')(out_BJZ).astype(jnp.float32)

  def _compose_params(self) -> dict:
    D, H = self.embed_dim, self.hidden_size
    if self.cell == 'tree_lstm':
      # Forget biases start at 1 (the LSTMs' usual init), the other gates' at 0.
      bias_init = lambda key, shape, dtype=jnp.float32: jnp.zeros(shape, dtype).at[H:3 * H].set(1.0)
      return {'W': self.param('W', nn.initializers.lecun_normal(), (D, 5 * H)),
              'U': self.param('U', nn.initializers.lecun_normal(), (2 * H, 5 * H)),
              'bias': self.param('bias', bias_init, (5 * H,))}
    params = {'W': self.param('W', nn.initializers.lecun_normal(), (2 * D, D)),
              'bias': self.param('bias', nn.initializers.zeros, (D,))}
    if self.cell == 'rntn':
      # Small, so the tensor term starts as a perturbation of the RecNN's layer.
      params['V'] = self.param('V', nn.initializers.normal(1.0 / (4 * D)), (2 * D, 2 * D, D))
    return params


@registry.register('recursive')
def _build(model_config, vocab_size: int, num_classes: int, **unused):
  del unused
  model = registry.from_config(RecursiveClassifier, model_config, vocab_size=vocab_size, num_classes=num_classes)
  if model.cell not in CELLS:
    raise ValueError(f'model.cell must be one of {", ".join(CELLS)}; got {model.cell!r}.')
  registry.check_positive(model, ('embed_dim', 'hidden_size'))
  registry.check_dropout(model)
  return model
