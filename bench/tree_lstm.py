"""Times a Tree-LSTM training pass over Stanford Sentiment Treebank trees: seqlab's batched model (all trees
of a batch level by level under lax.scan, models/recursive.py) against a plain recursive PyTorch Tree-LSTM
that composes one node at a time in Python, as most public implementations (treelstm.pytorch's style) do.

  python bench/tree_lstm.py [--num_trees=500] [--rounds=3] [--passes=1] [--data_dir=../shared/data]

Both train the binary (constituency) Tree-LSTM of Tai et al. (2015) in their sentiment setup: word vectors
300, hidden 150, 5 classes, batches of 25 trees, every node's softmax in the loss (the sum of the nodes'
NLL over the batch), AdaGrad with learning rate 0.05 (optax.adagrad; torch.optim.Adagrad given optax's
initial accumulator 0.1), word vectors trained too. The vocabulary is the words of the training split
(id 0 = padding); the trees timed are its first --num_trees, in the file's order.

Both sides get the same batches: the timed trees sorted by size (stable), then consecutive groups of 25.
Sorting is what a batched implementation does anyway (less padding; the torch recursion's cost does not
depend on it). seqlab's timed loop includes building each batch (data.trees.make_batch, padded as
configs/sst pads); each distinct padded shape is compiled (and run once) before timing, and the first
round's compile time is reported apart (later rounds load the executables from a compilation cache). The
torch loop includes turning each tree's word ids into a tensor; its softmax layer runs once per tree on
the stacked node states (public code often runs it per node: slower). torch gets as many threads as JAX
uses (every core this process may run on), with OMP_WAIT_POLICY=PASSIVE (main says why).

Before timing, the two are checked to compute the same thing: the torch model gets seqlab's initial
parameters, and the first batch's loss, before and after one AdaGrad step on it, must agree to 1e-4
(relative). Each round then runs each side in a fresh subprocess (seqlab first, then torch), so a noisy
machine hurts both alike; medians are compared. The last line is `speedup_vs_torch=X.XX` (sentences/s).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
import numpy as np  # noqa: E402

from bench import host  # noqa: E402
from data import files  # noqa: E402
from data import trees as trees_lib  # noqa: E402

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Only when run as a script: tests import this module beside others that define flags of the same names."""
  flags.DEFINE_integer('num_trees', 500, 'The first this many training trees are timed.')
  flags.DEFINE_integer('rounds', 3, 'Alternating rounds (each: one seqlab and one torch subprocess).')
  flags.DEFINE_integer('passes', 1, 'Timed passes over the trees per subprocess, after warm-up.')
  flags.DEFINE_integer('batch_size', 25, 'Trees per batch.')
  flags.DEFINE_integer('dim', 300, 'Word vectors.')
  flags.DEFINE_integer('hidden', 150, 'Tree-LSTM state.')
  flags.DEFINE_float('learning_rate', 0.05, 'AdaGrad.')
  flags.DEFINE_integer('pad_multiple', 16, 'make_batch: nodes per tree rounded up to this (configs/sst).')
  flags.DEFINE_integer('level_multiple', 8, 'make_batch: levels rounded up to this (configs/sst).')
  flags.DEFINE_integer('torch_threads', 0, 'torch.set_num_threads; 0 = as many as JAX uses (every usable core).')
  flags.DEFINE_string('data_dir', '', 'Holds sst/train.txt.gz; default $SEQLAB_DATA_DIR, else ../shared/data.')
  flags.DEFINE_enum('worker', '', ['', 'seqlab', 'torch'], 'Internal: time one side and print JSON.')


CLASSES = 5
# optax.adagrad's default initial accumulator, given to torch too: with 0 the two differ at the first step
# (optax divides by sqrt(s + eps), torch by sqrt(s) + eps), which the agreement check would see.
ADAGRAD_INIT = 0.1


def threads() -> int:
  """Cores this process may run on: what XLA's CPU thread pool uses, and so what torch gets."""
  return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()


def load(data_dir: str, num_trees: int):
  """(the first num_trees training trees, their word ids, vocabulary size); the vocabulary is the whole split's."""
  split = trees_lib.read_trees(files.data_path(data_dir, trees_lib.SPLITS['train']))
  vocab = vocabulary(split)
  chosen = split[:num_trees]
  return chosen, [np.array([vocab[w] for w in t.words], np.int32) for t in chosen], len(vocab) + 1


def vocabulary(trees: list) -> dict:
  """word -> id from 1 in order of first appearance; 0 is padding."""
  vocab = {}
  for tree in trees:
    for word in tree.words:
      vocab.setdefault(word, len(vocab) + 1)
  return vocab


def batch_groups(trees: list, batch_size: int) -> list:
  """Index arrays of consecutive batch_size trees after a stable sort by size."""
  order = np.argsort([t.num_nodes for t in trees], kind='stable')
  return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


# seqlab: the real model, one jitted step (loss, gradients, AdaGrad update).

def seqlab_trainer(vocab_size: int, dim: int, hidden: int, learning_rate: float, example_batch: dict, seed=0):
  """(step(params, opt_state, batch) -> (params, opt_state, loss), params, opt_state); step is jitted."""
  import jax
  import optax
  from models import recursive
  model = recursive.RecursiveClassifier(vocab_size=vocab_size, num_classes=CLASSES, cell='tree_lstm', embed_dim=dim,
                                        hidden_size=hidden)
  params = model.init(jax.random.PRNGKey(seed), example_batch)['params']
  tx = optax.adagrad(learning_rate, initial_accumulator_value=ADAGRAD_INIT)

  def loss_fn(params, batch):
    nll_BJ = optax.softmax_cross_entropy_with_integer_labels(model.apply({'params': params}, batch),
                                                             batch['node_label'])
    return (nll_BJ * batch['node_weight'] * batch['weight'][:, None]).sum()

  def step(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = tx.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state, loss
  return jax.jit(step, donate_argnums=(0, 1)), params, tx.init(params)


def shape_key(batch: dict) -> tuple:
  return tuple(sorted((name, array.shape) for name, array in batch.items()))


# PyTorch: node by node, by Python recursion over each tree.

def torch_tree_lstm(vocab_size: int, dim: int, hidden: int):
  import torch
  import torch.nn.functional as F

  class TreeLSTM(torch.nn.Module):
    """Tai et al.'s binary Tree-LSTM: z = W x + U [h_l; h_r] + b holds gates i, f_l, f_r, o and update u."""

    def __init__(self):
      super().__init__()
      self.embed = torch.nn.Embedding(vocab_size, dim)
      self.W = torch.nn.Linear(dim, 5 * hidden, bias=False)  # A leaf's word.
      self.U = torch.nn.Linear(2 * hidden, 5 * hidden, bias=False)  # The children's h.
      self.bias = torch.nn.Parameter(torch.zeros(5 * hidden))
      self.classify = torch.nn.Linear(hidden, CLASSES)

    def cell(self, z, c_left=None, c_right=None):
      i, f_left, f_right, o = torch.sigmoid(z[:4 * hidden]).split(hidden)
      c = i * torch.tanh(z[4 * hidden:])
      if c_left is not None:  # A leaf's children are zero: U·0 and f·0 are left out.
        c = c + f_left * c_left + f_right * c_right
      return o * torch.tanh(c), c

    def forward(self, tree: dict):
      """Summed NLL of every node of one tree (prepare_tree's dict)."""
      x = self.embed(tree['ids'])  # The sentence's words at once, as treelstm.pytorch does.
      left, right, word = tree['left'], tree['right'], tree['word']
      h = [None] * len(left)

      def node(n):
        if left[n] < 0:
          h[n], c = self.cell(self.W(x[word[n]]) + self.bias)
        else:
          h_left, c_left = node(left[n])
          h_right, c_right = node(right[n])
          h[n], c = self.cell(self.U(torch.cat([h_left, h_right])) + self.bias, c_left, c_right)
        return h[n], c
      node(len(left) - 1)  # The root: post-order numbers it last.
      # One softmax layer over the tree's stacked h: kinder to torch than the per-node softmax of public code.
      return F.cross_entropy(self.classify(torch.stack(h)), tree['labels'], reduction='sum')
  return TreeLSTM()


def prepare_tree(tree, ids) -> dict:
  """A tree as plain Python lists for the recursion (numpy scalars index slower), its ids as a tensor."""
  import torch
  return {'ids': torch.as_tensor(ids, dtype=torch.long), 'left': tree.left.tolist(),
          'right': tree.right.tolist(), 'word': tree.word.tolist(),
          'labels': torch.as_tensor(trees_lib.class_labels(tree, 'sst5'), dtype=torch.long)}


def copy_params(torch_model, params) -> None:
  """seqlab's parameters into the torch model (torch Linear weights are (out, in): transposed)."""
  import torch
  get = lambda a: torch.from_numpy(np.array(a, np.float32))
  with torch.no_grad():
    torch_model.embed.weight.copy_(get(params['embed']['embedding']))
    torch_model.W.weight.copy_(get(params['W']).T)
    torch_model.U.weight.copy_(get(params['U']).T)
    torch_model.bias.copy_(get(params['bias']))
    torch_model.classify.weight.copy_(get(params['classify']['kernel']).T)
    torch_model.classify.bias.copy_(get(params['classify']['bias']))


def torch_trainer(torch_model, learning_rate: float):
  """step(list of trees as (tree, ids)) -> loss: the batch's summed loss, backward, one AdaGrad step."""
  import torch
  optimizer = torch.optim.Adagrad(torch_model.parameters(), lr=learning_rate, initial_accumulator_value=ADAGRAD_INIT)

  def step(batch):
    optimizer.zero_grad(set_to_none=True)
    loss = sum(torch_model(prepare_tree(tree, ids)) for tree, ids in batch)
    loss.backward()
    optimizer.step()
    return loss.item()
  return step


def check_agreement(trees, ids, vocab_size, index, dim, hidden, learning_rate, seed=0, perturb=0.0, **unused):
  """(seqlab's, torch's) losses of the batch `index` from the same initial parameters, before and after
  one AdaGrad step on it (two floats each): the models and the optimizers must agree.

  perturb: noise of this deviation added to every initial parameter. At the initialization the gates are
  nearly alike, so a mix-up of, say, the two forget gates would hardly move the loss; the tests use it."""
  import jax
  batch = trees_lib.make_batch(trees, ids, 'sst5', index, len(index))
  step, params, opt_state = seqlab_trainer(vocab_size, dim, hidden, learning_rate, batch, seed)
  if perturb:
    leaves, tree_def = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(seed + 1), len(leaves))
    params = tree_def.unflatten([p + perturb * jax.random.normal(k, p.shape) for p, k in zip(leaves, keys)])
  torch_model = torch_tree_lstm(vocab_size, dim, hidden)
  copy_params(torch_model, params)
  torch_step = torch_trainer(torch_model, learning_rate)
  seqlab_losses, torch_losses = [], []
  for _ in range(2):
    params, opt_state, loss = step(params, opt_state, batch)
    seqlab_losses.append(float(loss))
    torch_losses.append(torch_step([(trees[i], ids[i]) for i in index]))
  return seqlab_losses, torch_losses


# Timing, one side per process: (trees, ids, vocab_size, groups, passes, **sizes) -> dict.

def time_seqlab(trees, ids, vocab_size, groups, passes, dim, hidden, learning_rate, pad_multiple=16,
                level_multiple=8, **unused) -> dict:
  import jax
  make = lambda index: trees_lib.make_batch(trees, ids, 'sst5', index, len(groups[0]), pad_multiple, level_multiple)
  batches = [make(index) for index in groups]
  step, params, opt_state = seqlab_trainer(vocab_size, dim, hidden, learning_rate, batches[0])
  compiled, start = {}, time.perf_counter()
  for batch in batches:  # Every distinct padded shape, before timing.
    if shape_key(batch) not in compiled:
      compiled[shape_key(batch)] = step.lower(params, opt_state, batch).compile()
  compile_s = time.perf_counter() - start
  for batch in {shape_key(b): b for b in batches}.values():  # First runs allocate: keep them out too.
    params, opt_state, loss = compiled[shape_key(batch)](params, opt_state, batch)
  jax.block_until_ready(loss)
  start = time.perf_counter()
  for _ in range(passes):
    for index in groups:  # Batches are built in the timed loop, as in training.
      batch = make(index)
      params, opt_state, loss = compiled[shape_key(batch)](params, opt_state, batch)
  jax.block_until_ready(loss)
  seconds = time.perf_counter() - start
  return {'sentences_per_s': passes * len(trees) / seconds, 'ms_per_batch': seconds / (passes * len(groups)) * 1e3,
          'compile_s': compile_s, 'shapes': len(compiled), 'threads': threads()}


def time_torch(trees, ids, vocab_size, groups, passes, dim, hidden, learning_rate, torch_threads=0,
               **unused) -> dict:
  import torch
  torch.set_num_threads(torch_threads or threads())
  torch.manual_seed(0)
  step = torch_trainer(torch_tree_lstm(vocab_size, dim, hidden), learning_rate)
  batches = [[(trees[i], ids[i]) for i in index] for index in groups]
  step(batches[0])  # Warm-up: first allocations.
  start = time.perf_counter()
  for _ in range(passes):
    for batch in batches:
      step(batch)
  seconds = time.perf_counter() - start
  return {'sentences_per_s': passes * len(trees) / seconds, 'ms_per_batch': seconds / (passes * len(groups)) * 1e3,
          'threads': torch.get_num_threads()}


SIZE_FLAGS = ('num_trees', 'batch_size', 'passes', 'dim', 'hidden', 'learning_rate', 'pad_multiple',
              'level_multiple', 'torch_threads')


def data_dir() -> str:
  return FLAGS.data_dir or os.environ.get('SEQLAB_DATA_DIR') or os.path.join(os.path.dirname(ROOT), 'shared', 'data')


def _worker_result(side: str, cache_dir: str) -> dict:
  args = [f'--worker={side}', f'--data_dir={data_dir()}'] + [f'--{name}={FLAGS[name].value}' for name in SIZE_FLAGS]
  # Rounds after the first load seqlab's executables from this cache instead of compiling them again.
  env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=cache_dir, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='0')
  out = subprocess.run([sys.executable, os.path.abspath(__file__)] + args, capture_output=True, text=True, cwd=ROOT,
                       env=env)
  if out.returncode != 0:
    raise RuntimeError(f'{side} worker failed:\n{out.stderr[-3000:]}')
  return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv):
  del argv
  # PyTorch's OpenMP threads otherwise spin-wait between parallel regions, and on a machine with other work
  # they starve the thread that runs the recursion (measured on 2 busy cores: 12 s a batch, not 0.6 s).
  # Set before torch loads (it is imported lazily); the workers inherit it.
  os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
  trees, ids, vocab_size = load(data_dir(), FLAGS.num_trees)
  groups = batch_groups(trees, FLAGS.batch_size)
  sizes = {name: FLAGS[name].value for name in SIZE_FLAGS if name not in ('num_trees', 'batch_size', 'passes')}
  if FLAGS.worker:
    timer = time_seqlab if FLAGS.worker == 'seqlab' else time_torch
    print(json.dumps(timer(trees, ids, vocab_size, groups, FLAGS.passes, **sizes)))
    return
  import jax
  import torch
  print(f'jax {jax.__version__}, torch {torch.__version__} (OMP_WAIT_POLICY={os.environ["OMP_WAIT_POLICY"]}); '
        f'{threads()} usable cores, 1-min load average {os.getloadavg()[0]:.1f}')
  print(f'{len(trees)} SST training trees ({sum(t.num_nodes for t in trees):,} nodes), vocabulary {vocab_size - 1:,}, '
        f'{len(groups)} batches of {FLAGS.batch_size} trees sorted by size; word vectors {FLAGS.dim}, hidden '
        f'{FLAGS.hidden}, {CLASSES} classes, AdaGrad {FLAGS.learning_rate}; {FLAGS.passes} timed pass(es) a round')
  seqlab_losses, torch_losses = check_agreement(trees, ids, vocab_size, groups[0], **sizes)
  print('first batch, loss before / after one step: seqlab ' + ' / '.join(f'{x:.5f}' for x in seqlab_losses) +
        ', torch ' + ' / '.join(f'{x:.5f}' for x in torch_losses), flush=True)
  np.testing.assert_allclose(seqlab_losses, torch_losses, rtol=1e-4,
                             err_msg='seqlab and torch compute different losses: the timings would not compare')
  results = {'seqlab': [], 'torch': []}
  with tempfile.TemporaryDirectory() as cache_dir:
    for r in range(FLAGS.rounds):
      for side in results:
        results[side].append(_worker_result(side, cache_dir))
      print(f'round {r + 1}: ' + ', '.join(f'{s} {results[s][-1]["sentences_per_s"]:,.1f} sentences/s' for s in results)
          + f' (load average {os.getloadavg()[0]:.1f})', flush=True)
  median = host.medians(results, ('sentences_per_s', 'ms_per_batch'))
  first, later = results['seqlab'][0], results['seqlab'][1:]
  print(f'seqlab compiled {first["shapes"]} padded shapes in {first["compile_s"]:.1f} s in the first round'
        + (f' ({statistics.median(x["compile_s"] for x in later):.1f} s from the cache later)' if later else '')
        + f', not timed; threads: seqlab {first["threads"]}, torch {results["torch"][0]["threads"]}')
  names = {'seqlab': 'seqlab (batched by level, jit)', 'torch': 'PyTorch (recursive, node by node)'}
  print('\n| implementation | sentences/s | ms per batch |\n|---|---:|---:|')
  for side, m in median.items():
    print(f'| {names[side]} | {m["sentences_per_s"]:,.1f} | {m["ms_per_batch"]:.1f} |')
  print(f'\nprocessor: {host.processor_name() or "unknown"}')
  print(f'speedup_vs_torch={median["seqlab"]["sentences_per_s"] / median["torch"]["sentences_per_s"]:.2f}')


if __name__ == '__main__':
  define_flags()
  app.run(main)
