"""The heap is trimmed after each XLA compile, and only then."""
import jax
import jax.numpy as jnp
import numpy as np

from training import host_memory


def test_trims_once_after_each_compile_and_not_after_a_cached_call(monkeypatch):
  calls = []
  monkeypatch.setattr(host_memory, '_malloc_trim', lambda: lambda pad: calls.append(pad))
  host_memory.stop_releasing()
  try:
    host_memory.release_after_compiles()
    host_memory.release_after_compiles()  # A second registration must not trim twice.
    f = jax.jit(lambda x: jnp.tanh(x) * 3.0 + 0.25)
    f(np.ones(7, np.float32)).block_until_ready()
    assert calls == [0]
    f(np.ones(7, np.float32)).block_until_ready()  # Cached: no compile, no trim.
    assert calls == [0]
    f(np.ones(9, np.float32)).block_until_ready()
    assert calls == [0, 0]
  finally:
    host_memory.stop_releasing()
  f(np.ones(11, np.float32)).block_until_ready()
  assert calls == [0, 0]
