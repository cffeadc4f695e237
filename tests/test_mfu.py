"""bench/mfu.py: its FLOP formulas count the parameters seqlab's models have, and a run at the small shape
prints one table row per (model, implementation) with an MFU in (0, 1] (torch rows only where torch is)."""
import importlib.util
import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest

from bench import mfu
import models

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize('shape', ['small', 'full'])
@pytest.mark.parametrize('model_name', ['gpt', 'lstm'])
def test_flop_formula_counts_the_models_parameters(model_name, shape):
  setup = mfu.Setup(backend='cpu', shape=shape, steps=1, dtype='bfloat16', torch_compile=False)
  config = mfu.model_config(model_name, setup)
  s = mfu.SHAPES[shape][model_name]
  model = models.build(config.model, vocab_size=s['vocab'], seq_len=s['seq_len'])
  tokens = jnp.zeros((2, s['seq_len']), jnp.int32)
  params = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), tokens, model.initial_carry(2)))['params']
  assert mfu.flop_params(model_name, params) == mfu.flops_per_token(model_name, shape)[1]
  assert model.dtype == jnp.bfloat16


def test_gpt2_small_flops_per_token():
  flops, n = mfu.flops_per_token('gpt', 'full')
  assert n == 123_587_328  # nanoGPT's GPT-2 (no biases, vocabulary 50304): "123.59M" parameters.
  assert flops == 6 * n + 12 * 12 * 1024 * 768


def test_steps_per_call_above_one_only_on_the_cpu():
  for backend, expected in (('cpu', 10), ('gpu', 1), ('tpu', 1)):
    setup = mfu.Setup(backend=backend, shape='full', steps=50, dtype='bfloat16', torch_compile=False)
    assert mfu.model_config('gpt', setup).train.steps_per_call == expected
    assert mfu.model_config('lstm', setup).train.steps_per_call == expected


def test_small_run_prints_a_row_per_model_and_impl_with_mfu_in_0_1():
  out = subprocess.run([sys.executable, 'bench/mfu.py', '--shape=small', '--steps=2', '--rounds=1'],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
  assert out.returncode == 0, out.stderr[-3000:]
  lines = out.stdout.strip().splitlines()
  rows = [line.split('|')[1:-1] for line in lines if re.match(r'\| (gpt|lstm) \|', line)]
  impls = ['seqlab', 'torch'] if importlib.util.find_spec('torch') else ['seqlab']
  assert [(r[0].strip(), r[1].split()[0]) for r in rows] == [(m, i) for m in ('gpt', 'lstm') for i in impls]
  for row in rows:
    tokens_per_s, ms_per_step, mfu_table, mfu_measured = (c.strip() for c in row[3:7])
    assert float(tokens_per_s.replace(',', '')) > 0 and float(ms_per_step) > 0
    assert mfu_table == 'n/a'  # No table peak for a CPU.
    assert 0 < float(mfu_measured) <= 1, row
  assert re.fullmatch(r'gpt_mfu=\d\.\d{4}', lines[-1])
  assert 0 < float(lines[-1].split('=')[1]) <= 1
