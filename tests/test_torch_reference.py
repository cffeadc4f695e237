"""LSTM and GRU layers against torch.nn.LSTM / torch.nn.GRU with the same weights (skipped without torch)."""
import jax
import numpy as np
import pytest

from models import rnn

torch = pytest.importorskip('torch')


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
  """A one-layer torch.nn.LSTM/GRU holding our weights (torch keeps them transposed)."""
  reference = torch_class(5, 6, batch_first=True)
  with torch.no_grad():
    reference.weight_ih_l0.copy_(torch.from_numpy(params['kernel'].T))
    reference.weight_hh_l0.copy_(torch.from_numpy(params['recurrent_kernel'].T))
    reference.bias_ih_l0.copy_(torch.from_numpy(params['bias']))
    reference.bias_hh_l0.copy_(torch.from_numpy(bias_hh))
  return reference


def test_lstm_matches_torch_values_and_gradients():
  x, h0, c0 = _inputs()
  layer = rnn.RecurrentLayer(6, cell='lstm')
  params = _perturbed_params(layer, x)
  reference = _torch_layer(torch.nn.LSTM, params, np.zeros(24, np.float32))
  x_t = torch.from_numpy(x).requires_grad_()
  out_t, (h_t, c_t) = reference(x_t, (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]))
  (out_t.sin().sum() + c_t.sum()).backward()

  def loss(p, x):
    out, (h, c) = layer.apply({'params': p}, x, (h0, c0))
    return jax.numpy.sin(out).sum() + c.sum(), (out, h, c)

  (_, (out, h, c)), (grads, dx) = jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)(params, x)
  np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(c, c_t[0].detach().numpy(), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(grads['recurrent_kernel'], reference.weight_hh_l0.grad.numpy().T, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(grads['kernel'], reference.weight_ih_l0.grad.numpy().T, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(grads['bias'], reference.bias_ih_l0.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_gru_matches_torch_values_and_gradients():
  x, h0, _ = _inputs()
  layer = rnn.RecurrentLayer(6, cell='gru')
  params = _perturbed_params(layer, x)
  reference = _torch_layer(torch.nn.GRU, params, np.r_[np.zeros(12, np.float32), params['recurrent_bias']])
  x_t = torch.from_numpy(x).requires_grad_()
  out_t, _ = reference(x_t, torch.from_numpy(h0)[None])
  out_t.sin().sum().backward()
  loss = lambda p, x: jax.numpy.sin(layer.apply({'params': p}, x, h0)[0]).sum()
  out = layer.apply({'params': params}, x, h0)[0]
  grads, dx = jax.grad(loss, argnums=(0, 1))(params, x)
  np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(grads['recurrent_kernel'], reference.weight_hh_l0.grad.numpy().T, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(grads['recurrent_bias'], reference.bias_hh_l0.grad.numpy()[12:], rtol=1e-4, atol=1e-6)
