"""Model FLOPs utilization (MFU) of seqlab's training step, and of PyTorch peers, on whatever device JAX sees.

  python bench/mfu.py                        # --shape=full on a GPU or TPU, --shape=small on the CPU
  python bench/mfu.py --shape=small --steps=2 --rounds=1   # the test's run (tests/test_mfu.py)

Two models, each trained on synthetic random tokens by seqlab's real step (loop.make_train_step inside
loop.make_multi_step under jax.jit with the state donated, as train.py runs it; AdamW, global-norm
clipping, the config's schedule; the LM task's loss):

  gpt   configs/charlm/gpt.py at GPT-2-small shape (--shape=full): 12 layers, width 768, 12 heads, context
        1024, vocabulary 50,304 (GPT-2's 50,257 padded to a multiple of 64, as nanoGPT pads it), batch 12
        (nanoGPT's micro-batch), tied embeddings, no biases, no dropout.
  lstm  configs/charlm/lstm.py with hidden_sizes (1024, 1024) and embed_dim 1024 (the first layer's input
        projection as large as the second's, 1024 -> 4096), context 256, batch 32, the char vocabulary
        (65): the recurrence, not a large softmax, is what is measured. Dropout off. Optimizer switched
        from adam to adamw (weight decay 0.1 on matrices) so that both models run the same one.
--shape=small (the default on the CPU, where it exercises the script: 38 s of CPU time in all, 59 s wall on
a 2-core machine busy with another job): GPT 2 layers x 128, 4 heads, context 128, vocabulary 512, batch 8;
LSTM 2 x 256, embedding 256, context 32, batch 8.

Compute dtype (--dtype): bfloat16 on a GPU or TPU (model.dtype='bfloat16': bfloat16 matmul operands,
float32 parameters, optimizer state, softmax and loss; models/precision.py), float32 on the CPU, which
has no bfloat16 matrix units here.

The peers, on the same device and shapes (skipped, and said so, where torch is absent, has no CUDA while
JAX runs on a GPU, or JAX runs on a TPU):
  gpt   bench/gpt_lm.py's torch_gpt (nanoGPT's GPT written for the purpose: pre-LN blocks,
        scaled_dot_product_attention, tied embeddings, AdamW on matrices, clip_grad_norm_), imported, not
        copied. On a GPU: torch.compile (module.compile(); on failure eager, and the impl column says so)
        and the forward (logits included) under bf16 autocast, the logits cast to float32 for the loss as
        seqlab's are; float32 matmuls may use TF32 in both (XLA's default precision; torch's allow_tf32).
        On the CPU eager, as bench/gpt_lm.py times it (--torch_compile=yes forces the compiler).
  lstm  torch.nn.LSTM (cuDNN on a GPU, oneDNN on the CPU), the same embedding and softmax, AdamW, clipping;
        eager: TorchDynamo does not trace nn.LSTM (its allow_rnn is off), the fused cuDNN kernel is the
        fast path. bf16 autocast on the forward where the dtype is bfloat16 (float32 if cuDNN refuses it).

Model FLOPs per token (forward + backward = 3 x forward; 2 FLOPs per multiply-add; what the model needs,
not what the implementation spends: no recomputation, elementwise work not counted):
  gpt   6 N + 12 L T C (PaLM, Chowdhery et al. 2022, appendix B; nanoGPT's estimate_mfu): N = the
        parameters less the position embeddings (nanoGPT's get_num_params; the tied token embedding is
        the softmax matmul), L layers, context T, width C; the second term is attention's QK^T and AV,
        counted over the full T x T (causal masking not discounted).
  lstm  6 M: M = the matmul parameters, sum over layers of 4H (D + H) (input and recurrent kernels) plus
        H V (the softmax kernel); the embedding (a lookup), biases, gates and cell updates not counted.

MFU = tokens/s x FLOPs per token / peak, against two peaks: the dense bf16 tensor peak of the device from
PEAK_BF16_TFLOPS (vendor datasheets, keyed by jax.devices()[0].device_kind; --peak_tflops overrides;
none for a CPU), and the peak measured here: the best rate of an n x n jnp.dot (n = 8192 on an
accelerator, 2048 on the CPU, 1024 at --shape=small; float32 at XLA's default precision, which is TF32
on NVIDIA GPUs since Ampere) in the compute dtype, timed on the device by the
device worker (bfloat16 and float32, both printed) and again by each seqlab worker after its timed steps,
the best of all taken (so that a busy moment of a shared machine does not set the peak).
Compile s: seqlab's lower + compile of the jitted step; for a compiled torch peer, the wall time of its
first two steps (compilation included); eager peers: none.

CPU-only settings, switched by backend: the char-LM configs set train.steps_per_call=10 (ten steps in one
jitted lax.scan) because on the CPU a call allocates its scratch memory afresh and the kernel zero-fills
each page on first touch (docs/results/benchmarks.md). The bench keeps it on the CPU (capped at --steps)
and runs one step per call on a GPU or TPU, where dispatch is asynchronous and scratch memory is pooled,
so the scan would only add a loop. The models themselves have no backend-specific code.

Each round runs each (model, implementation) in a fresh subprocess, alternating, so that a noisy machine
hurts all alike (--rounds: 3 at the full shape, 1 at the small); the device and its measured peak come
from one more subprocess first (the parent never touches the accelerator, so each worker has its memory
to itself). Every worker warms up (2 calls) before --steps timed steps. Medians over rounds are printed as
one Markdown table; the last line is `gpt_mfu=X` for scripts: seqlab's GPT MFU against the table peak,
or against the measured peak where the device is not in the table (the CPU).
"""
import dataclasses
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from bench import gpt_lm  # noqa: E402
from bench import host  # noqa: E402

# bench/gpt_lm.py defines its own command-line flags when imported; this script takes only its torch_gpt,
# so they are dropped before this script's own (--steps, --rounds) are defined.
for _flag in flags.FLAGS.get_flags_for_module(gpt_lm.__name__):
  delattr(flags.FLAGS, _flag.name)

MODELS = ('gpt', 'lstm')
IMPLS = ('seqlab', 'torch')
WORKERS = ('device',) + tuple(f'{impl}-{model}' for model in MODELS for impl in IMPLS)

flags.DEFINE_enum('shape', 'auto', ['auto', 'small', 'full'],
                  'small: tiny models for the CPU and CI; full: GPT-2 small and the 2 x 1024 LSTM. auto = small '
                  'on the CPU, full on a GPU or TPU.')
flags.DEFINE_integer('steps', 0, 'Timed training steps per worker after warm-up; 0 = 5 (small) or 50 (full).')
flags.DEFINE_integer('rounds', 0, 'Alternating rounds, each running every (model, impl) once in a fresh subprocess; '
                     '0 = 1 (small: it exercises the script) or 3 (full).')
flags.DEFINE_enum('dtype', 'auto', ['auto', 'float32', 'bfloat16'],
                  'Compute dtype of both implementations; auto = bfloat16 on a GPU or TPU, float32 on the CPU.')
flags.DEFINE_list('models', list(MODELS), f'Which of {MODELS} to run.')
flags.DEFINE_list('impls', list(IMPLS), f'Which of {IMPLS} to run (torch: only where importable).')
flags.DEFINE_enum('torch_compile', 'auto', ['auto', 'yes', 'no'],
                  "torch.compile the PyTorch GPT; auto = on CUDA only (on the CPU, eager, as bench/gpt_lm.py).")
flags.DEFINE_float('peak_tflops', 0.0, 'Dense bf16 peak of the device (TFLOP/s) instead of the table\'s; 0 = table.')
flags.DEFINE_enum('worker', '', [''] + list(WORKERS), 'Internal: run one worker and print JSON.')
flags.DEFINE_string('worker_setup', '', 'Internal: the resolved Setup (JSON) a worker runs.')
FLAGS = flags.FLAGS

# Dense bf16 tensor peak, TFLOP/s per JAX device, keyed by jax.devices()[0].device_kind. NVIDIA's datasheets
# print the bf16 Tensor Core figure "with sparsity" (2:4 structured) and footnote it: the dense figure, used
# here, is half of it. Google's Cloud TPU system-architecture pages give dense bf16 per chip; TPU v2 and v3
# show each of a chip's two TensorCores as a JAX device, so a device has half the chip's peak.
_H100_SXM = (989.5, 'NVIDIA H100 datasheet, H100 SXM: BF16 Tensor Core 1,979 TFLOPS with sparsity')
_H100_PCIE = (756.5, 'NVIDIA H100 datasheet, H100 PCIe: BF16 Tensor Core 1,513 TFLOPS with sparsity')
_H100_NVL = (835.5, 'NVIDIA H100 datasheet, H100 NVL: BF16 Tensor Core 1,671 TFLOPS with sparsity')
_H200_SXM = (989.5, 'NVIDIA H200 datasheet, H200 SXM: BF16 Tensor Core 1,979 TFLOPS with sparsity')
_H200_NVL = (835.5, 'NVIDIA H200 datasheet, H200 NVL: BF16 Tensor Core 1,671 TFLOPS with sparsity')
_A100 = (312.0, 'NVIDIA A100 datasheet: BF16 Tensor Core 312 TFLOPS (624 with sparsity), every A100 form factor')
_V100_SXM = (125.0, 'NVIDIA V100 datasheet, SXM2: Tensor Performance 125 TFLOPS (FP16; V100 has no bf16 '
             'tensor cores, so bf16 runs far below this)')
_V100_PCIE = (112.0, 'NVIDIA V100 datasheet, PCIe: Tensor Performance 112 TFLOPS (FP16; no bf16 tensor cores)')
_V100S_PCIE = (130.0, 'NVIDIA V100S datasheet, PCIe: Tensor Performance 130 TFLOPS (FP16; no bf16 tensor cores)')
_L4 = (121.0, 'NVIDIA L4 datasheet: BF16 Tensor Core 242 TFLOPS with sparsity')
_L40S = (362.05, 'NVIDIA L40S datasheet: BF16 Tensor Core 362.05 TFLOPS (733 with sparsity)')
_A10 = (125.0, 'NVIDIA A10 datasheet: BF16 Tensor Core 125 TFLOPS (250 with sparsity)')
_TPU = 'Cloud TPU system architecture (cloud.google.com/tpu/docs/system-architecture-tpu-vm): '
PEAK_BF16_TFLOPS = {
    'NVIDIA H100 80GB HBM3': _H100_SXM,
    'NVIDIA H100 PCIe': _H100_PCIE,
    'NVIDIA H100 NVL': _H100_NVL,
    'NVIDIA H200': _H200_SXM,
    'NVIDIA H200 NVL': _H200_NVL,
    'NVIDIA A100-SXM4-40GB': _A100,
    'NVIDIA A100-SXM4-80GB': _A100,
    'NVIDIA A100-PCIE-40GB': _A100,
    'NVIDIA A100 80GB PCIe': _A100,
    'Tesla V100-SXM2-16GB': _V100_SXM,
    'Tesla V100-SXM2-32GB': _V100_SXM,
    'Tesla V100-PCIE-16GB': _V100_PCIE,
    'Tesla V100-PCIE-32GB': _V100_PCIE,
    'Tesla V100S-PCIE-32GB': _V100S_PCIE,
    'NVIDIA L4': _L4,
    'NVIDIA L40S': _L40S,
    'NVIDIA A10': _A10,
    'TPU v2': (22.5, _TPU + 'v2, 45 TFLOPS bf16 per chip, 2 TensorCores (JAX devices) per chip'),
    'TPU v3': (61.5, _TPU + 'v3, 123 TFLOPS bf16 per chip, 2 TensorCores (JAX devices) per chip'),
    'TPU v4': (275.0, _TPU + 'v4, 275 TFLOPS bf16 per chip (one JAX device: megacore)'),
    'TPU v5 lite': (197.0, _TPU + 'v5e, 197 TFLOPS bf16 per chip'),
    'TPU v5e': (197.0, _TPU + 'v5e, 197 TFLOPS bf16 per chip'),
    'TPU v5': (459.0, _TPU + 'v5p, 459 TFLOPS bf16 per chip (one JAX device: megacore)'),
    'TPU v5p': (459.0, _TPU + 'v5p, 459 TFLOPS bf16 per chip (one JAX device: megacore)'),
    'TPU v6 lite': (918.0, _TPU + 'v6e (Trillium), 918 TFLOPS bf16 per chip'),
    'TPU v6e': (918.0, _TPU + 'v6e (Trillium), 918 TFLOPS bf16 per chip'),
}

# Sizes per --shape. gpt: L layers, width C, N heads, context T, vocabulary V, batch B;
# lstm: H per layer, embedding E, context T, vocabulary V, batch B.
SHAPES = {
    'small': {'gpt': {'depth': 2, 'width': 128, 'num_heads': 4, 'seq_len': 128, 'vocab': 512, 'batch_size': 8},
              'lstm': {'hidden_sizes': (256, 256), 'embed_dim': 256, 'seq_len': 32, 'vocab': 65, 'batch_size': 8}},
    'full': {'gpt': {'depth': 12, 'width': 768, 'num_heads': 12, 'seq_len': 1024, 'vocab': 50304, 'batch_size': 12},
             'lstm': {'hidden_sizes': (1024, 1024), 'embed_dim': 1024, 'seq_len': 256, 'vocab': 65,
                      'batch_size': 32}},
}
DEFAULT_STEPS = {'small': 5, 'full': 50}
DEFAULT_ROUNDS = {'small': 1, 'full': 3}
CONFIGS = {'gpt': 'configs/charlm/gpt.py', 'lstm': 'configs/charlm/lstm.py'}
WARMUP_CALLS = 2  # Calls after compilation, before timing (torch: the first also compiles).


@dataclasses.dataclass(frozen=True)
class Setup:
  """What every worker of one run is told: the resolved flags."""
  backend: str  # jax.default_backend(): cpu, gpu, tpu.
  shape: str  # small or full.
  steps: int
  dtype: str  # float32 or bfloat16.
  torch_compile: bool


def flops_per_token(model: str, shape: str) -> tuple[float, int]:
  """(model FLOPs per trained token, the parameter count in its formula: N for the GPT, M for the LSTM)."""
  s = SHAPES[shape][model]
  if model == 'gpt':
    L, C, T, V = s['depth'], s['width'], s['seq_len'], s['vocab']
    # Tied token embedding V C; per block: qkv 3C^2, out C^2, mlp 8C^2, two layer-norm scales; final norm.
    n = V * C + L * (12 * C * C + 2 * C) + C
    return 6.0 * n + 12.0 * L * T * C, n
  sizes, V = s['hidden_sizes'], s['vocab']
  inputs = (s['embed_dim'],) + tuple(sizes[:-1])
  m = sum(4 * h * (d + h) for d, h in zip(inputs, sizes)) + sizes[-1] * V
  return 6.0 * m, m


def flop_params(model: str, params) -> int:
  """The parameters of seqlab's model that its FLOP formula counts (N or M of flops_per_token)."""
  from flax import traverse_util
  flat = traverse_util.flatten_dict(params, sep='/')
  if model == 'gpt':  # nanoGPT's N: every parameter but the position embeddings.
    return int(sum(p.size for k, p in flat.items() if not k.startswith('position_embed/')))
  return int(sum(p.size for k, p in flat.items() if k.endswith('kernel')))  # Input, recurrent, softmax kernels.


def model_config(model: str, setup: Setup):
  """The config file's model and optimizer, resized to the shape, in the setup's dtype, no dropout."""
  from training import config_loading
  s = SHAPES[setup.shape][model]
  overrides = {'model.dtype': setup.dtype, 'data.seq_len': s['seq_len'], 'train.batch_size': s['batch_size'],
               'optimizer.name': 'adamw'}
  if model == 'gpt':
    overrides.update({'model.depth': s['depth'], 'model.width': s['width'], 'model.num_heads': s['num_heads'],
                      'model.dropout': 0.0, 'model.attention_dropout': 0.0})
  else:
    overrides.update({'model.hidden_sizes': s['hidden_sizes'], 'model.embed_dim': s['embed_dim'],
                      'model.dropout': 0.0, 'optimizer.weight_decay': 0.1})
  config = config_loading.load_config(os.path.join(ROOT, CONFIGS[model]))
  config = config_loading.apply_overrides(config, overrides)
  # The CPU-only setting: several steps per jitted call (see the module docstring).
  per_call = config.train.steps_per_call if setup.backend == 'cpu' else 1
  config.train.steps_per_call = max(1, min(per_call, setup.steps))
  return config


def _random_tokens(rng, shape, vocab):
  return rng.randint(0, vocab, shape).astype('int32')


def measure_matmul(n: int, dtypes=('bfloat16', 'float32'), trials: int = 3) -> dict:
  """{dtype: the best rate (FLOP/s) of an n x n jnp.dot on JAX's device over `trials` trials of ~0.3 s}."""
  import jax
  import jax.numpy as jnp
  measured = {}
  for name in dtypes:
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), name)
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n), name)
    dot = jax.jit(jnp.dot)
    dot(a, b).block_until_ready()
    start = time.perf_counter()
    dot(a, b).block_until_ready()
    reps = max(2, min(200, int(0.3 / max(time.perf_counter() - start, 1e-6))))  # Dispatch is asynchronous: fixed.
    best = float('inf')
    for _ in range(trials):
      start = time.perf_counter()
      for _ in range(reps):
        out = dot(a, b)
      out.block_until_ready()
      best = min(best, (time.perf_counter() - start) / reps)
    measured[name] = 2.0 * n ** 3 / best
  return measured


def matmul_size(backend: str, shape: str) -> int:
  """n of the measured peak's n x n product: 8192 on an accelerator, 2048 on the CPU (1024 at the small
  shape, which only exercises the script)."""
  if shape == 'small':
    return 1024
  return 2048 if backend == 'cpu' else 8192


def run_device(shape: str) -> dict:
  """The device JAX sees and its measured matmul rate (FLOP/s) in bfloat16 and float32; `shape` may be auto."""
  import jax
  backend = jax.default_backend()
  n = matmul_size(backend, resolve_shape(shape, backend))
  return {'backend': backend, 'device_kind': jax.devices()[0].device_kind, 'device_count': jax.device_count(),
          'jax': jax.__version__, 'matmul_n': n, 'measured_flops': measure_matmul(n), 'processor': host.processor_name()}


def run_seqlab(model_name: str, setup: Setup) -> dict:
  """Compiles seqlab's jitted multi-step once (timed apart), warms up, times setup.steps steps."""
  import jax
  import jax.numpy as jnp
  import numpy as np
  import models
  from tasks import lm as lm_task
  from training import loop
  from training import optim
  config = model_config(model_name, setup)
  s = SHAPES[setup.shape][model_name]
  B, T, V = s['batch_size'], s['seq_len'], s['vocab']
  per_call = config.train.steps_per_call
  total = config.train.num_steps
  model = models.build(config.model, vocab_size=V, seq_len=T)
  tx = optim.build_optimizer(config, total, total)
  schedule = optim.build_schedule(config, total, total)
  calls = -(-setup.steps // per_call)
  rng = np.random.RandomState(0)
  stacks = [{'inputs': jnp.asarray(_random_tokens(rng, (per_call, B, T), V)),
             'targets': jnp.asarray(_random_tokens(rng, (per_call, B, T), V)),
             'weight': jnp.ones((per_call, B, T), jnp.float32)} for _ in range(WARMUP_CALLS + calls)]

  def init_state(inputs, carry):  # Jitted: one compile instead of one per op of the model's init.
    params = model.init(jax.random.PRNGKey(0), inputs, carry)['params']
    return loop.TrainState(step=jnp.asarray(0, jnp.int32), params=params, opt_state=tx.init(params),
                           rng=jax.random.PRNGKey(1), carry=carry)
  state = jax.jit(init_state)(stacks[0]['inputs'][0], model.initial_carry(B))
  train_step = loop.make_train_step(model, lm_task.LossOnly(), tx, schedule)
  steps = jax.jit(loop.make_multi_step(train_step), donate_argnums=0)
  start = time.perf_counter()
  compiled = steps.lower(state, stacks[0]).compile()
  compile_s = time.perf_counter() - start
  for stack in stacks[:WARMUP_CALLS]:
    state, (metrics, _) = compiled(state, stack)
  jax.block_until_ready(metrics)
  start = time.perf_counter()
  for stack in stacks[WARMUP_CALLS:]:
    state, (metrics, _) = compiled(state, stack)
  jax.block_until_ready(metrics)
  seconds = (time.perf_counter() - start) / (calls * per_call)
  # The matmul rate again, on the same machine minutes later: the measured peak is the best of all.
  measured = measure_matmul(matmul_size(setup.backend, setup.shape), (setup.dtype,), trials=2)
  return {'ms_per_step': seconds * 1e3, 'compile_s': compile_s, 'steps_per_call': per_call,
          'device': jax.devices()[0].device_kind, 'flop_params': flop_params(model_name, state.params),
          'measured_flops': measured, 'loss': float(metrics['loss'][0][-1]),
          'impl': f'seqlab (jax {jax.__version__}, {per_call} step{"s" * (per_call > 1)} per call)'}


def _torch_device(setup: Setup):
  """('cuda' or 'cpu', None) where torch can run beside JAX's device, else (None, why not). On CUDA, float32
  matmuls may use TF32, as XLA's default precision lets them; parameters are made there by default."""
  import torch
  if setup.backend == 'cpu':
    return 'cpu', None
  if setup.backend == 'gpu' and torch.cuda.is_available():
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.set_default_device('cuda')  # torch_gpt makes its positions by torch.arange(T), no device given.
    return 'cuda', None
  if setup.backend == 'gpu':
    return None, f'torch {torch.__version__} has no CUDA'
  return None, f'no PyTorch peer on {setup.backend}'


def _autocast_forward(module, device: str):
  """module.forward under bf16 autocast, its output cast to float32 (the loss then takes float32 logits)."""
  import torch
  forward = module.forward

  def autocast_forward(*args):
    with torch.autocast(device_type=device, dtype=torch.bfloat16):
      out = forward(*args)
    return out.float()
  module.forward = autocast_forward


def _time_torch(step, batches, device: str, steps: int) -> tuple[float, float]:
  """(seconds of the first WARMUP_CALLS steps, seconds per step of the next `steps`)."""
  import torch
  sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
  start = time.perf_counter()
  for x, y in batches[:WARMUP_CALLS]:
    loss = step(x, y)
  float(loss.detach())
  sync()
  warmup_s = time.perf_counter() - start
  start = time.perf_counter()
  for x, y in batches[WARMUP_CALLS:WARMUP_CALLS + steps]:
    loss = step(x, y)
  float(loss.detach())
  sync()
  return warmup_s, (time.perf_counter() - start) / steps


def _torch_batches(model_name: str, setup: Setup, device: str):
  import numpy as np
  import torch
  s = SHAPES[setup.shape][model_name]
  rng = np.random.RandomState(0)
  shape = (s['batch_size'], s['seq_len'])
  return [tuple(torch.from_numpy(_random_tokens(rng, shape, s['vocab'])).long().to(device) for _ in range(2))
          for _ in range(WARMUP_CALLS + setup.steps)]


def run_torch_gpt(setup: Setup) -> dict:
  """bench/gpt_lm.py's PyTorch GPT at this shape: compiled and autocast where setup says, else eager."""
  import torch
  device, why_not = _torch_device(setup)
  if device is None:
    return {'skipped': why_not}
  config = model_config('gpt', setup)
  V = SHAPES[setup.shape]['gpt']['vocab']
  autocast = setup.dtype == 'bfloat16'
  batches = _torch_batches('gpt', setup, device)

  def build(compiled: bool):
    torch.manual_seed(0)
    model, _, step = gpt_lm.torch_gpt(config, V)
    if autocast:
      _autocast_forward(model, device)
    if compiled:
      model.compile()  # In place: the step it returned calls this module.
    return step

  mode = 'compiled' if setup.torch_compile else 'eager'
  try:
    warmup_s, seconds = _time_torch(build(setup.torch_compile), batches, device, setup.steps)
  except Exception as e:  # noqa: BLE001 -- torch.compile's failures have many types; eager is the fallback.
    if not setup.torch_compile:
      raise
    print(f'torch.compile failed, eager instead: {type(e).__name__}: {str(e)[:300]}', file=sys.stderr)
    torch._dynamo.reset()
    mode = 'eager: compile failed'
    warmup_s, seconds = _time_torch(build(False), batches, device, setup.steps)
  name = torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu'
  precision = ', bf16 autocast' if autocast else ''
  return {'ms_per_step': seconds * 1e3, 'compile_s': warmup_s if mode == 'compiled' else None, 'device': name,
          'impl': f'torch {torch.__version__} ({mode}{precision})', 'threads': torch.get_num_threads()}


def run_torch_lstm(setup: Setup) -> dict:
  """torch.nn.LSTM (cuDNN on a GPU) with seqlab's sizes, embedding, softmax, AdamW and clipping; eager."""
  import torch
  device, why_not = _torch_device(setup)
  if device is None:
    return {'skipped': why_not}
  config = model_config('lstm', setup)
  s = SHAPES[setup.shape]['lstm']
  sizes, E, V = s['hidden_sizes'], s['embed_dim'], s['vocab']
  if len(set(sizes)) != 1:
    raise ValueError(f'torch.nn.LSTM takes one hidden size for all layers; got {sizes}.')
  H = sizes[0]
  c = config.optimizer

  class TorchLM(torch.nn.Module):
    def __init__(self):
      super().__init__()
      self.embed = torch.nn.Embedding(V, E)
      self.lstm = torch.nn.LSTM(E, H, num_layers=len(sizes), batch_first=True)
      self.softmax = torch.nn.Linear(H, V)

    def forward(self, tokens):
      return self.softmax(self.lstm(self.embed(tokens))[0])  # Zero initial state: seqlab's without 'reset'.

  def build(autocast: bool):
    torch.manual_seed(0)
    model = TorchLM()
    if autocast:
      _autocast_forward(model, device)
    params = list(model.parameters())
    optimizer = torch.optim.AdamW([{'params': [p for p in params if p.dim() >= 2], 'weight_decay': c.weight_decay},
                                   {'params': [p for p in params if p.dim() < 2], 'weight_decay': 0.0}],
                                  lr=c.learning_rate, betas=(c.b1, c.b2), eps=c.eps)

    def step(x, y):
      loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
      loss.backward()
      torch.nn.utils.clip_grad_norm_(params, c.clip_norm)
      optimizer.step()
      optimizer.zero_grad(set_to_none=True)
      return loss
    return step

  batches = _torch_batches('lstm', setup, device)
  autocast = setup.dtype == 'bfloat16'
  precision = ', bf16 autocast' if autocast else ''
  try:
    _, seconds = _time_torch(build(autocast), batches, device, setup.steps)
  except RuntimeError as e:  # A cuDNN build without bf16 RNNs.
    if not autocast:
      raise
    print(f'bf16 nn.LSTM failed, float32 instead: {str(e)[:300]}', file=sys.stderr)
    precision = ', float32: bf16 refused'
    _, seconds = _time_torch(build(False), batches, device, setup.steps)
  kernel = 'cuDNN' if device == 'cuda' and torch.backends.cudnn.is_available() else 'CPU'
  name = torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu'
  return {'ms_per_step': seconds * 1e3, 'compile_s': None, 'device': name, 'threads': torch.get_num_threads(),
          'impl': f'torch {torch.__version__} nn.LSTM ({kernel}, eager{precision})'}


def run_worker(worker: str, setup: Setup) -> dict:
  if worker == 'seqlab-gpt':
    return run_seqlab('gpt', setup)
  if worker == 'seqlab-lstm':
    return run_seqlab('lstm', setup)
  if worker == 'torch-gpt':
    return run_torch_gpt(setup)
  if worker == 'torch-lstm':
    return run_torch_lstm(setup)
  raise ValueError(f'unknown worker {worker!r}')


def _subprocess(worker: str, setup: Setup | None = None, shape: str = '') -> dict:
  command = [sys.executable, os.path.abspath(__file__), f'--worker={worker}'] + ([f'--shape={shape}'] if shape else [])
  if setup is not None:
    command.append(f'--worker_setup={json.dumps(dataclasses.asdict(setup))}')
  out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
  if out.returncode != 0:
    raise RuntimeError(f'{worker} worker failed:\n{out.stderr[-3000:]}')
  result = json.loads(out.stdout.strip().splitlines()[-1])
  notes = [line for line in out.stderr.splitlines() if line.startswith(('torch.compile failed', 'bf16 nn.LSTM'))]
  if notes:
    result['notes'] = notes
  return result


def table_peak(device_kind: str, override_tflops: float = 0.0):
  """(dense bf16 peak FLOP/s or None, its source)."""
  if override_tflops > 0:
    return override_tflops * 1e12, f'--peak_tflops={override_tflops:g}'
  if device_kind in PEAK_BF16_TFLOPS:
    tflops, source = PEAK_BF16_TFLOPS[device_kind]
    return tflops * 1e12, source
  return None, f'{device_kind!r} is not in PEAK_BF16_TFLOPS (add it, or pass --peak_tflops)'


@dataclasses.dataclass
class Row:
  model: str
  impl: str
  device: str
  tokens_per_s: float
  ms_per_step: float
  mfu_table: float | None
  mfu_measured: float
  compile_s: float | None


def best_measured(device: dict, results: dict, dtype: str) -> float:
  """The measured matmul peak in `dtype`: the best of the device worker's and every seqlab worker's (each
  measures again after its timed steps, so a busy moment of the machine does not set the peak)."""
  rates = [device['measured_flops'][dtype]]
  rates += [r['measured_flops'][dtype] for runs in results.values() for r in runs
            if dtype in r.get('measured_flops', {})]
  return max(rates)


def make_rows(results: dict, setup: Setup, measured: float, peak: float | None) -> list[Row]:
  """One row per (model, impl) from each worker's results over the rounds (medians); `measured` and `peak`
  in FLOP/s (peak None: not in the table)."""
  rows = []
  for (model, _), runs in results.items():
    s = SHAPES[setup.shape][model]
    ms = statistics.median(r['ms_per_step'] for r in runs)
    tokens_per_s = s['batch_size'] * s['seq_len'] / ms * 1e3
    flops = tokens_per_s * flops_per_token(model, setup.shape)[0]
    compiles = [r['compile_s'] for r in runs if r['compile_s'] is not None]
    rows.append(Row(model, runs[0]['impl'], runs[0]['device'], tokens_per_s, ms, flops / peak if peak else None,
                    flops / measured, statistics.median(compiles) if compiles else None))
  return rows


def format_table(rows: list[Row]) -> str:
  lines = ['| model | impl | device | tokens/s | ms/step | MFU vs table peak | MFU vs measured peak | compile s |',
           '| --- | --- | --- | --- | --- | --- | --- | --- |']
  for r in rows:
    table = 'n/a' if r.mfu_table is None else f'{r.mfu_table:.4f}'
    compile_s = '—' if r.compile_s is None else f'{r.compile_s:.1f}'
    lines.append(f'| {r.model} | {r.impl} | {r.device} | {r.tokens_per_s:,.0f} | {r.ms_per_step:.2f} | {table} | '
                 f'{r.mfu_measured:.4f} | {compile_s} |')
  return '\n'.join(lines)


def resolve_shape(shape: str, backend: str) -> str:
  return shape if shape != 'auto' else ('small' if backend == 'cpu' else 'full')


def resolve_setup(backend: str) -> tuple[Setup, int]:
  """(the setup the flags give on this backend, the number of rounds)."""
  shape = resolve_shape(FLAGS.shape, backend)
  dtype = FLAGS.dtype if FLAGS.dtype != 'auto' else ('float32' if backend == 'cpu' else 'bfloat16')
  torch_compile = FLAGS.torch_compile == 'yes' or (FLAGS.torch_compile == 'auto' and backend == 'gpu')
  return Setup(backend=backend, shape=shape, steps=FLAGS.steps or DEFAULT_STEPS[shape], dtype=dtype,
               torch_compile=torch_compile), FLAGS.rounds or DEFAULT_ROUNDS[shape]


def _describe(setup: Setup, device: dict, peak, peak_source: str) -> list[str]:
  gpt, lstm = SHAPES[setup.shape]['gpt'], SHAPES[setup.shape]['lstm']
  gpt_flops, gpt_n = flops_per_token('gpt', setup.shape)
  lstm_flops, lstm_m = flops_per_token('lstm', setup.shape)
  processor = f' ({device["processor"]})' if setup.backend == 'cpu' and device['processor'] else ''
  return [
      f'device: {device["device_kind"]}{processor}, backend {setup.backend}, {device["device_count"]} device(s), '
      f'jax {device["jax"]}, {os.cpu_count()} CPUs; shape {setup.shape}, compute dtype {setup.dtype}, '
      f'{setup.steps} timed steps per worker',
      'table peak (dense bf16): ' + (f'{peak / 1e12:,.1f} TFLOP/s, {peak_source}' if peak else peak_source),
      f'gpt: {gpt["depth"]} layers x {gpt["width"]}, {gpt["num_heads"]} heads, context {gpt["seq_len"]}, vocab '
      f'{gpt["vocab"]}, batch {gpt["batch_size"]}; 6N + 12LTC = 6 x {gpt_n:,} + 12 x {gpt["depth"]} x '
      f'{gpt["seq_len"]} x {gpt["width"]} = {gpt_flops / 1e6:,.2f} MFLOP/token',
      f'lstm: {len(lstm["hidden_sizes"])} x {lstm["hidden_sizes"][0]}, embed {lstm["embed_dim"]}, context '
      f'{lstm["seq_len"]}, vocab {lstm["vocab"]}, batch {lstm["batch_size"]}; 6M = 6 x {lstm_m:,} = '
      f'{lstm_flops / 1e6:,.2f} MFLOP/token',
  ]


def main(argv):
  del argv
  if FLAGS.worker == 'device':
    print(json.dumps(run_device(FLAGS.shape)))
    return
  if FLAGS.worker:
    print(json.dumps(run_worker(FLAGS.worker, Setup(**json.loads(FLAGS.worker_setup)))))
    return
  for name, given, known in (('models', FLAGS.models, MODELS), ('impls', FLAGS.impls, IMPLS)):
    if not set(given) <= set(known):
      raise app.UsageError(f'--{name} takes {",".join(known)}; got {",".join(given)}.')
  device = _subprocess('device', shape=FLAGS.shape)
  setup, rounds = resolve_setup(device['backend'])
  peak, peak_source = table_peak(device['device_kind'], FLAGS.peak_tflops)
  for line in _describe(setup, device, peak, peak_source):
    print(line, flush=True)
  impls = [i for i in IMPLS if i in FLAGS.impls]
  if 'torch' in impls and importlib.util.find_spec('torch') is None:
    print('torch not importable (make install-reference): no torch rows')
    impls.remove('torch')
  pairs = [(m, i) for m in MODELS if m in FLAGS.models for i in impls]
  results = {pair: [] for pair in pairs}
  for r in range(rounds):
    for pair in list(results):
      result = _subprocess(f'{pair[1]}-{pair[0]}', setup)
      if 'skipped' in result:
        print(f'{pair[1]} {pair[0]}: skipped, {result["skipped"]}')
        del results[pair]
        continue
      for note in result.get('notes', []):
        print(f'{pair[1]} {pair[0]}: {note}')
      if pair[1] == 'seqlab':
        expected = flops_per_token(pair[0], setup.shape)[1]
        if result['flop_params'] != expected:
          print(f'warning: seqlab {pair[0]} has {result["flop_params"]:,} parameters in the FLOP formula, the '
                f'formula assumes {expected:,}')
      results[pair].append(result)
    print(f'round {r + 1}: ' + ', '.join(f'{i} {m} {results[(m, i)][-1]["ms_per_step"]:.2f} ms/step'
                                          for m, i in results), flush=True)
  measured = {dtype: best_measured(device, results, dtype) for dtype in ('bfloat16', 'float32')}
  n = device['matmul_n']
  print(f'measured peak: {n}x{n} jnp.dot, best of all workers: bfloat16 {measured["bfloat16"] / 1e12:,.3f} '
        f'TFLOP/s, float32 {measured["float32"] / 1e12:,.3f} TFLOP/s (MFU vs measured: {setup.dtype}\'s)')
  rows = make_rows(results, setup, measured[setup.dtype], peak)
  print()
  print(format_table(rows))
  gpt = [r for r in rows if r.model == 'gpt' and r.impl.startswith('seqlab')]
  mfu = (gpt[0].mfu_table if gpt[0].mfu_table is not None else gpt[0].mfu_measured) if gpt else float('nan')
  print(f'gpt_mfu={mfu:.4f}')


if __name__ == '__main__':
  app.run(main)
