"""Our layers against PyTorch's with the same weights (skipped without torch): LSTM and GRU layers against
torch.nn.LSTM / torch.nn.GRU, the GPT block against torch.nn.TransformerEncoderLayer and the GPT against a
stack of them. The torch side runs in float64, so only ours rounds in float32 (see tests/tolerances.py)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import attention
from models import rnn
from models import transformer
from tests import tolerances

torch = pytest.importorskip('torch', reason='PyTorch is not installed (make install-reference)')


def _inputs():
  x = np.random.RandomState(0).randn(3, 7, 5).astype(np.float32)
  h0 = np.random.RandomState(1).randn(3, 6).astype(np.float32)
  c0 = np.random.RandomState(2).randn(3, 6).astype(np.float32)
  return x, h0, c0


def _perturbed_params(layer, x):
  params = layer.init(jax.random.PRNGKey(0), x)['params']
  rng = np.random.RandomState(3)
  return {k: np.asarray(v) + 0.1 * rng.randn(*v.shape).astype(np.float32) for k, v in params.items()}


def _torch_layer(torch_class, params, bias_hh):
  """A one-layer float64 torch.nn.LSTM/GRU holding our weights (torch keeps them transposed)."""
  reference = torch_class(5, 6, batch_first=True).double()
  to_torch = lambda a: torch.from_numpy(np.asarray(a, np.float64))
  with torch.no_grad():
    reference.weight_ih_l0.copy_(to_torch(params['kernel'].T))
    reference.weight_hh_l0.copy_(to_torch(params['recurrent_kernel'].T))
    reference.bias_ih_l0.copy_(to_torch(params['bias']))
    reference.bias_hh_l0.copy_(to_torch(bias_hh))
  return reference


_T, _D, _H = 7, 5, 6  # The shapes of _inputs.
# Rounded operations: T steps of the D-term input and H-term recurrent projections of each gate for the values;
# a gradient sums B·T rows, each backpropagated through up to T steps.
_VALUE_TERMS = _T * (_D + 4 * _H)
_GRAD_TERMS = 3 * _T * 2 * _VALUE_TERMS


def test_lstm_matches_torch_values_and_gradients():
  x, h0, c0 = _inputs()
  layer = rnn.RecurrentLayer(6, cell='lstm')
  params = _perturbed_params(layer, x)
  reference = _torch_layer(torch.nn.LSTM, params, np.zeros(24))
  x_t = torch.from_numpy(x.astype(np.float64)).requires_grad_()
  out_t, (h_t, c_t) = reference(x_t, (torch.from_numpy(h0[None].astype(np.float64)),
                                      torch.from_numpy(c0[None].astype(np.float64))))
  (out_t.sin().sum() + c_t.sum()).backward()

  def loss(p, x):
    out, (h, c) = layer.apply({'params': p}, x, (h0, c0))
    return jax.numpy.sin(out).sum() + c.sum(), (out, h, c)

  (_, (out, h, c)), (grads, dx) = jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)(params, x)
  tolerances.assert_close(out, out_t.detach().numpy(), _VALUE_TERMS, scale=1.0)  # |h| <= 1.
  tolerances.assert_close(c, c_t[0].detach().numpy(), _VALUE_TERMS)
  tolerances.assert_close(dx, x_t.grad.numpy(), _GRAD_TERMS)
  tolerances.assert_close(grads['recurrent_kernel'], reference.weight_hh_l0.grad.numpy().T, _GRAD_TERMS)
  tolerances.assert_close(grads['kernel'], reference.weight_ih_l0.grad.numpy().T, _GRAD_TERMS)
  tolerances.assert_close(grads['bias'], reference.bias_ih_l0.grad.numpy(), _GRAD_TERMS)


def test_gru_matches_torch_values_and_gradients():
  x, h0, _ = _inputs()
  layer = rnn.RecurrentLayer(6, cell='gru')
  params = _perturbed_params(layer, x)
  reference = _torch_layer(torch.nn.GRU, params, np.r_[np.zeros(12), params['recurrent_bias']])
  x_t = torch.from_numpy(x.astype(np.float64)).requires_grad_()
  out_t, _ = reference(x_t, torch.from_numpy(h0[None].astype(np.float64)))
  out_t.sin().sum().backward()
  loss = lambda p, x: jax.numpy.sin(layer.apply({'params': p}, x, h0)[0]).sum()
  out = layer.apply({'params': params}, x, h0)[0]
  grads, dx = jax.grad(loss, argnums=(0, 1))(params, x)
  tolerances.assert_close(out, out_t.detach().numpy(), _VALUE_TERMS, scale=1.0)
  tolerances.assert_close(dx, x_t.grad.numpy(), _GRAD_TERMS)
  tolerances.assert_close(grads['recurrent_kernel'], reference.weight_hh_l0.grad.numpy().T, _GRAD_TERMS)
  tolerances.assert_close(grads['recurrent_bias'], reference.bias_hh_l0.grad.numpy()[12:], _GRAD_TERMS)


# The GPT block (models/transformer.py) against torch.nn.TransformerEncoderLayer: layer norm, causal multi-head
# self-attention, a feed-forward layer, residuals; norm_first is pre-LN, its absence post-LN (x = LN(x + f(x))).
def _perturbed(params, seed=4, scale=0.2):
  """float64 weights far from their init (unit LN scales, zero biases, 0.02-std kernels), so every term counts."""
  rng = np.random.RandomState(seed)
  return jax.tree.map(lambda p: np.asarray(p, np.float64) + scale * rng.randn(*p.shape), params)


def _load_block(layer, p, use_bias):
  """Copies a Block's parameters into a TransformerEncoderLayer (torch's Linear keeps (out, in) weights)."""
  C = p['mlp']['fc']['kernel'].shape[0]
  t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
  heads = lambda name: p['attention'][name]['kernel'].reshape(C, C).T  # (C, N, Q) -> (N·Q, C), head-major.
  with torch.no_grad():
    layer.self_attn.in_proj_weight.copy_(t(np.concatenate([heads('query'), heads('key'), heads('value')])))
    layer.self_attn.out_proj.weight.copy_(t(p['attention']['out']['kernel'].reshape(C, C).T))
    layer.linear1.weight.copy_(t(p['mlp']['fc']['kernel'].T))
    layer.linear2.weight.copy_(t(p['mlp']['proj']['kernel'].T))
    layer.norm1.weight.copy_(t(p['ln_attention']['scale']))
    layer.norm2.weight.copy_(t(p['ln_mlp']['scale']))
    if use_bias:
      layer.self_attn.in_proj_bias.copy_(t(np.concatenate([p['attention'][n]['bias'].reshape(C)
                                                           for n in ('query', 'key', 'value')])))
      layer.self_attn.out_proj.bias.copy_(t(p['attention']['out']['bias']))
      layer.linear1.bias.copy_(t(p['mlp']['fc']['bias']))
      layer.linear2.bias.copy_(t(p['mlp']['proj']['bias']))
      layer.norm1.bias.copy_(t(p['ln_attention']['bias']))
      layer.norm2.bias.copy_(t(p['ln_mlp']['bias']))


def _torch_block(p, num_heads, mlp_ratio, norm, activation, use_bias):
  C = p['mlp']['fc']['kernel'].shape[0]
  layer = torch.nn.TransformerEncoderLayer(
      C, num_heads, dim_feedforward=mlp_ratio * C, dropout=0.0, activation=activation, layer_norm_eps=1e-5,
      batch_first=True, norm_first=norm == 'pre', bias=use_bias).double()
  _load_block(layer, p, use_bias)
  return layer.eval()


def _torch_causal(length):
  return torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)  # True: may not attend.


@pytest.mark.parametrize('norm,activation,use_bias', [('pre', 'gelu', False), ('post', 'gelu', True),
                                                      ('pre', 'relu', True)])
def test_gpt_block_matches_torch_transformer_encoder_layer_values_and_input_gradients(norm, activation, use_bias):
  B, T, C, N, ratio = 2, 5, 8, 2, 4
  block = transformer.Block(width=C, num_heads=N, depth=1, mlp_ratio=ratio, norm=norm, activation=activation,
                            use_bias=use_bias)
  x = np.random.RandomState(0).randn(B, T, C).astype(np.float32)
  params64 = _perturbed(block.init(jax.random.PRNGKey(0), x, None)['params'])
  params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), params64)
  rounded64 = jax.tree.map(lambda a: np.asarray(a, np.float64), params)  # torch gets the float32-rounded weights.
  weights = np.random.RandomState(1).randn(B, T, C)

  def loss(x):
    out, _ = block.apply({'params': params}, x, attention.causal_mask(T, T))
    return jnp.sum(out * weights), out
  (_, out), dx = jax.value_and_grad(loss, has_aux=True)(x)

  layer = _torch_block(rounded64, N, ratio, norm, activation, use_bias)
  x_t = torch.from_numpy(x.astype(np.float64)).requires_grad_()
  out_t = layer(x_t, src_mask=_torch_causal(T), is_causal=True)
  (out_t * torch.from_numpy(weights)).sum().backward()

  terms = tolerances.transformer_terms(C, 1, T, ratio, N)
  tolerances.assert_close(out, out_t.detach().numpy(), terms)
  tolerances.assert_close(dx, x_t.grad.numpy(), 2 * T * terms)  # Back through the block, from all T outputs.
  # Causality seen from torch's side: the last position's input reaches no earlier output.
  x_t.grad = None
  layer(x_t, src_mask=_torch_causal(T), is_causal=True)[:, :-1].sum().backward()
  assert (x_t.grad[:, -1] == 0).all()


def test_gpt_logits_match_a_torch_stack_of_encoder_layers():
  """The whole GPT (pre-LN, learned positions, tied softmax): embeddings, two blocks, final norm, logits."""
  V, L, C, N, depth = 13, 8, 8, 2, 2
  model = transformer.GPT(vocab_size=V, max_len=L, width=C, depth=depth, num_heads=N)
  tokens = np.random.RandomState(2).randint(0, V, (2, L))
  params64 = _perturbed(model.init(jax.random.PRNGKey(0), jnp.asarray(tokens), ())['params'])
  params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), params64)
  rounded64 = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
  logits, _ = model.apply({'params': params}, tokens, ())

  embedding = torch.from_numpy(rounded64['embed']['embedding'])
  x_t = embedding[torch.from_numpy(tokens)] + torch.from_numpy(rounded64['position_embed']['embedding'])[None]
  for i in range(depth):
    x_t = _torch_block(rounded64[f'block_{i}'], N, 4, 'pre', 'gelu', False)(
        x_t, src_mask=_torch_causal(L), is_causal=True)
  x_t = torch.nn.functional.layer_norm(x_t, (C,), torch.from_numpy(rounded64['ln_final']['scale']), None, 1e-5)
  expected = (x_t @ embedding.T).detach().numpy()
  tolerances.assert_close(logits, expected, tolerances.transformer_terms(C, depth, L, 4, N))
