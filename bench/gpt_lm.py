"""Times the training step of configs/charlm/gpt.py (nanoGPT's CPU recipe: 4 layers, 4 heads, width 128,
context 64, batch 12, vocabulary 65) against a plain PyTorch GPT of the same shape, when torch is importable.

  python bench/gpt_lm.py [--rounds=5] [--steps=200]

seqlab's step is the real one (loop.make_train_step inside loop.make_multi_step, the config's
steps_per_call steps per jitted call; AdamW, clipping, the config's schedule). The peer is written here
for the purpose, as nanoGPT builds its model: pre-LN GPT-2 blocks, no biases, tied embeddings,
torch.nn.functional.scaled_dot_product_attention (causal), exact GELU, AdamW on the matrices only,
clip_grad_norm_, eager on the CPU. Each round runs each peer in a fresh subprocess with the same
thread count (seqlab first, then torch) and times --steps steps after warm-up; the rounds alternate so
that a noisy machine hurts both alike, and the medians are compared. Peak memory is each
subprocess's maximum resident set. The last line is `speedup_vs_torch=X.XX` (tokens/s ratio).
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

flags.DEFINE_integer('rounds', 5, 'Alternating rounds (each: one seqlab and one torch subprocess).')
flags.DEFINE_integer('steps', 200, 'Timed training steps per subprocess, after warm-up.')
flags.DEFINE_string('config', 'configs/charlm/gpt.py', 'The seqlab config whose model and optimizer are timed.')
flags.DEFINE_enum('worker', '', ['', 'seqlab', 'torch'], 'Internal: run one peer and print JSON.')
flags.DEFINE_integer('torch_quality_seeds', 0, 'Instead of timing: train the PyTorch peer on the recipe for '
                     'this many seeds and print its validation loss, evaluated as seqlab evaluates.')
FLAGS = flags.FLAGS


def _batches(config, vocab, count, seed=0):
  import numpy as np
  rng = np.random.RandomState(seed)
  B, T = config.train.batch_size, config.data.seq_len
  return [(rng.randint(0, vocab, (B, T)).astype(np.int32), rng.randint(0, vocab, (B, T)).astype(np.int32))
          for _ in range(count)]


def _load_config():
  from training import config_loading
  return config_loading.load_config(os.path.join(ROOT, FLAGS.config))


VOCAB = 65  # Tiny Shakespeare's characters.


def run_seqlab() -> dict:
  import jax
  import jax.numpy as jnp
  import numpy as np
  import models
  from tasks import lm as lm_task
  from training import loop
  from training import optim
  config = _load_config()
  per_call = config.train.steps_per_call
  total = config.train.num_steps
  model = models.build(config.model, vocab_size=VOCAB, seq_len=config.data.seq_len)
  tx = optim.build_optimizer(config, total, total)
  schedule = optim.build_schedule(config, total, total)

  calls = -(-FLAGS.steps // per_call)
  data = _batches(config, VOCAB, per_call * (calls + 1))
  stacks = []
  for c in range(calls + 1):
    chunk = data[c * per_call:(c + 1) * per_call]
    stacks.append({'inputs': jnp.asarray(np.stack([x for x, _ in chunk])),
                   'targets': jnp.asarray(np.stack([y for _, y in chunk])),
                   'weight': jnp.ones((per_call,) + chunk[0][0].shape, jnp.float32)})
  carry = model.initial_carry(config.train.batch_size)
  params = model.init(jax.random.PRNGKey(0), stacks[0]['inputs'][0], carry)['params']
  state = loop.TrainState(step=jnp.asarray(0, jnp.int32), params=params, opt_state=tx.init(params),
                          rng=jax.random.PRNGKey(1), carry=carry)
  steps = jax.jit(loop.make_multi_step(loop.make_train_step(model, lm_task.LossOnly(), tx, schedule)), donate_argnums=0)
  start = time.perf_counter()
  compiled = steps.lower(state, stacks[0]).compile()
  compile_s = time.perf_counter() - start
  state, (metrics, _) = compiled(state, stacks[0])  # Warm-up.
  jax.block_until_ready(metrics)
  start = time.perf_counter()
  for stack in stacks[1:]:
    state, (metrics, _) = compiled(state, stack)
  jax.block_until_ready(metrics)
  seconds = (time.perf_counter() - start) / (calls * per_call)
  n_params = sum(p.size for p in jax.tree.leaves(params))
  return {'ms_per_step': seconds * 1e3, 'compile_s': compile_s, 'params': int(n_params),
          'loss': float(metrics['loss'][0][-1]), 'steps_per_call': per_call}


def torch_gpt(config, vocab: int = 0):
  """(model, optimizer, step(x, y) -> loss) of the PyTorch peer, as nanoGPT builds them."""
  import math
  import torch
  import torch.nn.functional as F
  m, V = config.model, vocab or VOCAB
  T, C, depth, N = config.data.seq_len, m.width, m.depth, m.num_heads

  class Block(torch.nn.Module):
    def __init__(self):
      super().__init__()
      self.ln_1 = torch.nn.LayerNorm(C, bias=False)
      self.qkv = torch.nn.Linear(C, 3 * C, bias=False)
      self.attn_proj = torch.nn.Linear(C, C, bias=False)
      self.ln_2 = torch.nn.LayerNorm(C, bias=False)
      self.fc = torch.nn.Linear(C, 4 * C, bias=False)
      self.mlp_proj = torch.nn.Linear(4 * C, C, bias=False)

    def forward(self, x):
      B = x.shape[0]
      q, k, v = self.qkv(self.ln_1(x)).split(C, dim=2)
      q, k, v = (t.view(B, T, N, C // N).transpose(1, 2) for t in (q, k, v))
      y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
      x = x + self.attn_proj(y.transpose(1, 2).contiguous().view(B, T, C))
      return x + self.mlp_proj(F.gelu(self.fc(self.ln_2(x))))

  class GPT(torch.nn.Module):
    def __init__(self):
      super().__init__()
      self.wte = torch.nn.Embedding(V, C)
      self.wpe = torch.nn.Embedding(T, C)
      self.blocks = torch.nn.ModuleList(Block() for _ in range(depth))
      self.ln_f = torch.nn.LayerNorm(C, bias=False)
      for name, p in self.named_parameters():
        if p.dim() == 2:
          std = 0.02 / math.sqrt(2 * depth) if name.endswith('proj.weight') else 0.02
          torch.nn.init.normal_(p, 0.0, std)

    def forward(self, idx):
      x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
      for block in self.blocks:
        x = block(x)
      return self.ln_f(x) @ self.wte.weight.t()  # Tied softmax.

  model = GPT()
  decay = [p for p in model.parameters() if p.dim() >= 2]
  other = [p for p in model.parameters() if p.dim() < 2]
  c = config.optimizer
  optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': c.weight_decay},
                                 {'params': other, 'weight_decay': 0.0}],
                                lr=c.learning_rate, betas=(c.b1, c.b2), eps=c.eps)

  def step(x, y):
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), c.clip_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss
  return model, optimizer, step


def run_torch() -> dict:
  import torch
  config = _load_config()
  torch.manual_seed(0)
  model, _, step = torch_gpt(config)
  data = [(torch.from_numpy(x).long(), torch.from_numpy(y).long())
          for x, y in _batches(config, VOCAB, FLAGS.steps + 10)]
  for x, y in data[:10]:  # Warm-up.
    step(x, y)
  start = time.perf_counter()
  for x, y in data[10:]:
    loss = step(x, y)
  seconds = (time.perf_counter() - start) / FLAGS.steps
  return {'ms_per_step': seconds * 1e3, 'threads': torch.get_num_threads(),
          'params': sum(p.numel() for p in model.parameters()), 'loss': float(loss)}


def train_torch(seed: int) -> float:
  """Trains the peer on the config's recipe and corpus (nanoGPT's schedule) and returns its validation
  loss over the whole valid split, evaluated exactly as seqlab evaluates (tasks.lm's eval windows)."""
  import numpy as np
  import torch
  from data import corpus
  from data import lm_batching
  from data import tokenizers
  from training import optim
  config = _load_config()
  config.data.dir = config.data.dir or os.environ.get('SEQLAB_DATA_DIR', '')
  texts = corpus.load_corpus(config.data)
  tokenizer = tokenizers.build_tokenizer('char', texts['train'])
  train_ids, valid_ids = tokenizer.encode(texts['train']), tokenizer.encode(texts['valid'])
  torch.manual_seed(seed)
  model, optimizer, step = torch_gpt(config, tokenizer.vocab_size)
  total = config.train.num_steps
  schedule = optim.build_schedule(config, total, total)
  batcher = lm_batching.RandomWindowBatcher(train_ids, config.train.batch_size, config.data.seq_len, seed)
  for i in range(total):
    for group in optimizer.param_groups:
      group['lr'] = float(schedule(i))
    batch = next(batcher)
    step(torch.from_numpy(batch['inputs']).long(), torch.from_numpy(batch['targets']).long())
  model.eval()
  nll, count = 0.0, 0.0
  with torch.no_grad():
    for batch in lm_batching.eval_stream_batches(valid_ids, config.eval.batch_size, config.data.seq_len):
      logits = model(torch.from_numpy(batch['inputs']).long())
      per_token = torch.nn.functional.cross_entropy(
          logits.reshape(-1, logits.shape[-1]), torch.from_numpy(batch['targets']).long().reshape(-1),
          reduction='none')
      weight = torch.from_numpy(batch['weight']).reshape(-1)
      nll += float((per_token * weight).sum())
      count += float(weight.sum())
  return nll / count


def _worker_result(peer: str) -> dict:
  out = subprocess.run([sys.executable, os.path.abspath(__file__), f'--worker={peer}', f'--steps={FLAGS.steps}',
                        f'--config={FLAGS.config}'], capture_output=True, text=True, cwd=ROOT)
  if out.returncode != 0:
    raise RuntimeError(f'{peer} worker failed:\n{out.stderr[-3000:]}')
  return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv):
  del argv
  if FLAGS.worker:
    result = run_seqlab() if FLAGS.worker == 'seqlab' else run_torch()
    result['peak_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
    return
  if FLAGS.torch_quality_seeds:
    losses = []
    for seed in range(FLAGS.torch_quality_seeds):
      losses.append(train_torch(seed))
      print(f'torch peer, seed {seed}: valid loss {losses[-1]:.4f}', flush=True)
    print(f'torch peer: mean valid loss {statistics.mean(losses):.4f} over {len(losses)} seeds')
    return
  try:
    import torch  # noqa: F401
    peers = ('seqlab', 'torch')
  except ImportError:
    peers = ('seqlab',)
  import jax
  config = _load_config()
  tokens = config.train.batch_size * config.data.seq_len
  print(f'jax {jax.__version__}, {os.cpu_count()} CPUs; {FLAGS.config}: batch {config.train.batch_size} x '
        f'{config.data.seq_len}, {config.model.depth} layers x {config.model.width}, {FLAGS.steps} steps per round')
  results = {peer: [] for peer in peers}
  for r in range(FLAGS.rounds):
    for peer in peers:
      results[peer].append(_worker_result(peer))
    print(f'round {r + 1}: ' + ', '.join(f'{p} {results[p][-1]["ms_per_step"]:.1f} ms/step' for p in peers),
          flush=True)
  median = {p: statistics.median(x['ms_per_step'] for x in results[p]) for p in peers}
  s = results['seqlab']
  print(f'seqlab: {median["seqlab"]:.1f} ms/step (median), {tokens / median["seqlab"] * 1e3:,.0f} tokens/s, '
        f'{s[0]["params"]:,} params, {s[0]["steps_per_call"]} steps per call, '
        f'compile {statistics.median(x["compile_s"] for x in s):.1f} s, '
        f'peak {max(x["peak_mib"] for x in s):.0f} MiB')
  if 'torch' not in results:
    print('torch not importable: no comparison')
    return
  t = results['torch']
  print(f'torch:  {median["torch"]:.1f} ms/step (median), {tokens / median["torch"] * 1e3:,.0f} tokens/s, '
        f'{t[0]["params"]:,} params, {t[0]["threads"]} threads, peak {max(x["peak_mib"] for x in t):.0f} MiB')
  print(f'speedup_vs_torch={median["torch"] / median["seqlab"]:.2f}')


if __name__ == '__main__':
  app.run(main)
