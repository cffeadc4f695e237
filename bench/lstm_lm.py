"""Times one training step of the LSTM char LM (2 × 512, batch 32, 128 steps, vocabulary 65) after
compilation, against the same model on torch.nn.LSTM when torch is importable, and both against the
machine's float32 matmul rate measured in the same run.

  python bench/lstm_lm.py [--rounds=3] [--repeats=20] [--steps_per_call=10]

The step is seqlab's real train step (loop.make_train_step inside loop.make_multi_step, as train.py
runs it: --steps_per_call steps per jitted call, the carry passed on; forward, backward through the
scans, global-norm clipping, Adam); PyTorch's does the same (embedding, nn.LSTM, linear, cross-entropy,
clip_grad_norm_, Adam). Dropout is off in both. Each round times both, alternating, so that a noisy
machine hurts both alike; medians are reported. The last line is `speedup_vs_torch=X.XX`.
"""
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from models import lm  # noqa: E402
from tasks import lm as lm_task  # noqa: E402
from training import config_loading  # noqa: E402
from training import loop  # noqa: E402

flags.DEFINE_integer('rounds', 3, 'Alternating rounds, each timing seqlab then torch.')
flags.DEFINE_integer('repeats', 20, 'Timed steps per round (after warm-up); seqlab runs them in calls of '
                     '--steps_per_call steps.')
flags.DEFINE_integer('steps_per_call', 0, 'seqlab steps per jitted call; 0 = train.steps_per_call of '
                     'configs/charlm/lstm.py, as train.py runs that model.')
flags.DEFINE_integer('batch_size', 32, 'Rows.')
flags.DEFINE_integer('seq_len', 128, 'Steps per window.')
flags.DEFINE_integer('hidden_size', 512, 'LSTM width (two layers).')
flags.DEFINE_integer('embed_dim', 64, 'Embedding width.')
flags.DEFINE_integer('vocab', 65, 'Vocabulary (Tiny Shakespeare characters).')
FLAGS = flags.FLAGS


def model_flops_per_step() -> float:
  """Matmul FLOPs of forward + backward (3× forward): input and recurrent projections, softmax."""
  B, T, H, E, V = FLAGS.batch_size, FLAGS.seq_len, FLAGS.hidden_size, FLAGS.embed_dim, FLAGS.vocab
  per_token = 2 * (E * 4 * H + H * 4 * H) + 2 * (H * 4 * H + H * 4 * H) + 2 * H * V
  return 3.0 * per_token * B * T


def matmul_gflops() -> float:
  n = 2048
  a = jax.random.normal(jax.random.PRNGKey(0), (n, n))
  f = jax.jit(lambda a: a @ a)
  f(a).block_until_ready()
  start, reps = time.perf_counter(), 20
  for _ in range(reps):
    out = f(a)
  out.block_until_ready()
  return 2 * n ** 3 * reps / (time.perf_counter() - start) / 1e9


def _timed(step, calls):
  step()  # Warm-up beyond compilation.
  start = time.perf_counter()
  for _ in range(calls):
    step()
  return (time.perf_counter() - start) / calls


def seqlab_step():
  """(one call of steps_per_call training steps, their count, compile seconds)."""
  B, T = FLAGS.batch_size, FLAGS.seq_len
  per_call = (FLAGS.steps_per_call
              or config_loading.load_config(os.path.join(ROOT, 'configs/charlm/lstm.py')).train.steps_per_call)
  model = lm.RNNLM(vocab_size=FLAGS.vocab, embed_dim=FLAGS.embed_dim, hidden_sizes=(FLAGS.hidden_size,) * 2,
                   cell='lstm')
  rng = np.random.RandomState(0)
  batches = {'inputs': jnp.asarray(rng.randint(0, FLAGS.vocab, (per_call, B, T)), jnp.int32),
             'targets': jnp.asarray(rng.randint(0, FLAGS.vocab, (per_call, B, T)), jnp.int32),
             'weight': jnp.ones((per_call, B, T), jnp.float32), 'reset': jnp.zeros((per_call,), bool)}
  carry = model.initial_carry(B)
  params = model.init(jax.random.PRNGKey(0), batches['inputs'][0], carry)['params']
  tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))
  state = loop.TrainState(step=jnp.asarray(0), params=params, opt_state=tx.init(params), rng=jax.random.PRNGKey(1),
                          carry=carry)
  train_steps = jax.jit(loop.make_multi_step(loop.make_train_step(model, lm_task.LossOnly(), tx,
                                                                  optax.constant_schedule(1e-3))),
                        donate_argnums=0)
  start = time.perf_counter()
  compiled = train_steps.lower(state, batches).compile()
  compile_s = time.perf_counter() - start
  holder = [state]

  def call():
    holder[0], (metrics, _) = compiled(holder[0], batches)
    jax.block_until_ready(metrics['loss'])
  return call, per_call, compile_s


def torch_step():
  try:
    import torch
  except ImportError:
    return None
  B, T, H, E, V = FLAGS.batch_size, FLAGS.seq_len, FLAGS.hidden_size, FLAGS.embed_dim, FLAGS.vocab

  class TorchLM(torch.nn.Module):
    def __init__(self):
      super().__init__()
      self.embed = torch.nn.Embedding(V, E)
      self.lstm = torch.nn.LSTM(E, H, num_layers=2, batch_first=True)
      self.softmax = torch.nn.Linear(H, V)

    def forward(self, tokens, carry):
      out, carry = self.lstm(self.embed(tokens), carry)
      return self.softmax(out), carry

  torch.manual_seed(0)
  model = TorchLM()
  optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
  rng = np.random.RandomState(0)
  inputs = torch.from_numpy(rng.randint(0, V, (B, T)))
  targets = torch.from_numpy(rng.randint(0, V, (B, T)))
  carry = (torch.zeros(2, B, H), torch.zeros(2, B, H))

  def step():
    optimizer.zero_grad(set_to_none=True)
    logits, _ = model(inputs, carry)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
  return step


def main(argv):
  del argv
  tokens = FLAGS.batch_size * FLAGS.seq_len
  flops = model_flops_per_step()
  peak = matmul_gflops()
  print(f'jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPUs; '
        f'float32 matmul (2048², XLA): {peak:.0f} GFLOP/s')
  print(f'model: 2 x LSTM({FLAGS.hidden_size}), embed {FLAGS.embed_dim}, vocab {FLAGS.vocab}, '
        f'batch {FLAGS.batch_size} x {FLAGS.seq_len}; {flops / 1e9:.2f} GFLOP per training step')
  seqlab_call, per_call, compile_s = seqlab_step()
  torch_call = torch_step()
  seqlab_times, torch_times = [], []
  for r in range(FLAGS.rounds):
    seqlab_times.append(_timed(seqlab_call, max(1, FLAGS.repeats // per_call)) / per_call)
    line = f'round {r + 1}: seqlab {seqlab_times[-1] * 1e3:.1f} ms/step'
    if torch_call:
      torch_times.append(_timed(torch_call, FLAGS.repeats))
      line += f', torch {torch_times[-1] * 1e3:.1f} ms/step'
    print(line, flush=True)
  seconds = statistics.median(seqlab_times)
  print(f'seqlab: {seconds * 1e3:.1f} ms/step (median), {tokens / seconds:,.0f} tokens/s, '
        f'{flops / seconds / 1e9:.0f} GFLOP/s ({flops / seconds / 1e9 / peak:.0%} of matmul), '
        f'{per_call} steps per call, compile {compile_s:.1f} s')
  if not torch_call:
    print('torch not importable: no comparison')
    return
  import torch
  torch_seconds = statistics.median(torch_times)
  print(f'torch:  {torch_seconds * 1e3:.1f} ms/step (median), {tokens / torch_seconds:,.0f} tokens/s, '
        f'{flops / torch_seconds / 1e9:.0f} GFLOP/s ({flops / torch_seconds / 1e9 / peak:.0%} of matmul), '
        f'{torch.get_num_threads()} threads')
  print(f'speedup_vs_torch={torch_seconds / seconds:.2f}')


if __name__ == '__main__':
  app.run(main)
