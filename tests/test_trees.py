"""Treebank reading, phrases, tree batches, and the batched recursive models against a per-node recursion."""
import gzip

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from data import files
from data import trees
from models import recursive

SENTENCES = [
    "(3 (2 It) (4 (2 's) (4 lovely)))",
    '(1 (2 (2 The) (2 film)) (1 (1 (2 is) (1 dull)) (2 .)))',
    '(2 ok)',
    '(4 (3 (3 (2 a) (3 (3 truly) (4 great))) (2 (2 and) (3 moving))) (3 (2 (2 little) (2 film)) (2 .)))',
]


def test_parse_tree_reads_words_labels_children_and_spans_in_post_order():
  tree = trees.parse_tree(SENTENCES[0])
  assert tree.words == ('It', "'s", 'lovely')
  np.testing.assert_array_equal(tree.labels, [2, 2, 4, 4, 3])
  np.testing.assert_array_equal(tree.left, [-1, -1, -1, 1, 0])
  np.testing.assert_array_equal(tree.right, [-1, -1, -1, 2, 3])
  np.testing.assert_array_equal(tree.word, [0, 1, 2, -1, -1])
  np.testing.assert_array_equal(tree.span, [[0, 1], [1, 2], [2, 3], [1, 3], [0, 3]])
  np.testing.assert_array_equal(tree.heights(), [0, 0, 0, 1, 2])


@pytest.mark.parametrize('line, message', [
    ('(3 (2 It) (4 lovely)', 'unbalanced brackets'),
    ('(3 (2 It) (4 lovely))) ', 'unbalanced brackets'),
    ('(x (2 a) (2 b))', "label 'x' is not an integer 0..4"),
    ('(2.5 (2 a) (2 b))', "label '2.5' is not an integer"),
    ('(7 a)', "label '7'"),
    ('(3 (2 a) (2 ))', 'an empty leaf'),
    ('(3 (2 a) (2 b) (2 c))', 'a node with 3 children'),
    ('(3 (2 a))', 'a node with 1 children'),
])
def test_a_malformed_tree_is_an_error_naming_its_file_and_line(tmp_path, line, message):
  path = tmp_path / 'train.txt.gz'
  with gzip.open(path, 'wt') as f:
    f.write(SENTENCES[0] + '\n' + line + '\n')
  with pytest.raises(files.DataError, match=f'{path}:2: .*{message}'):
    trees.read_trees(str(path))


def test_phrases_yield_each_labeled_node_once():
  tree = trees.parse_tree(SENTENCES[1])
  five = trees.phrases(tree, 'sst5')
  assert len(five) == tree.num_nodes == 2 * len(tree.words) - 1
  assert five[-1] == (tree.words, 1)  # The root last: the whole sentence.
  assert sorted(five) == sorted({(tree.words[s:e], int(l)) for (s, e), l in zip(tree.span, tree.labels)})
  two = trees.phrases(tree, 'sst2_trees')  # Neutral (2) phrases have no binary class.
  assert two == [(words, 0) for words, label in five if label != 2] and len(two) == 4


def test_sst2_leaves_out_trees_with_a_neutral_root(tmp_path):
  (tmp_path / 'sst').mkdir()
  for split in ('train', 'dev', 'test'):
    with gzip.open(tmp_path / 'sst' / f'{split}.txt.gz', 'wt') as f:
      f.write('\n'.join(SENTENCES) + '\n')
  assert [len(t.words) for t in trees.load_trees(str(tmp_path), 'sst5')['valid']] == [3, 5, 1, 8]
  assert [len(t.words) for t in trees.load_trees(str(tmp_path), 'sst2_trees')['test']] == [3, 5, 8]


def _batch(lines, batch_size=6, name='sst5', seed=0):
  parsed = [trees.parse_tree(line) for line in lines]
  rng = np.random.RandomState(seed)
  ids = [rng.randint(1, 40, len(t.words)) for t in parsed]
  return parsed, ids, trees.make_batch(parsed, ids, name, np.arange(len(parsed)), batch_size)


def test_batch_levels_hold_each_internal_node_once_after_its_children():
  parsed, _, batch = _batch(SENTENCES)
  B, J = batch['tokens'].shape
  levels = batch['levels']
  real = levels[levels < B * J]
  assert len(real) == len(set(real.tolist())) == sum(t.num_nodes - len(t.words) for t in parsed)
  done = {row * J + n for row, t in enumerate(parsed) for n in range(t.num_nodes) if t.left[n] < 0}
  for nodes in levels:
    for flat in nodes[nodes < B * J]:
      row, node = divmod(int(flat), J)
      assert {row * J + batch['left'][row, node], row * J + batch['right'][row, node]} <= done
    done |= set(nodes[nodes < B * J].tolist())
  np.testing.assert_array_equal(batch['label'], [3, 1, 2, 4, 0, 0])
  np.testing.assert_array_equal(batch['weight'], [1, 1, 1, 1, 0, 0])


# An independent reference: each tree composed node by node by Python recursion, in numpy.
def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def _node_state(cell, p, embedding, tree, ids, node, memo):
  if node in memo:
    return memo[node]
  if tree.left[node] < 0:
    x = embedding[ids[tree.word[node]]]
    if cell == 'tree_lstm':
      z = x @ p['W'] + p['bias']
      H = z.shape[0] // 5
      c = _sigmoid(z[:H]) * np.tanh(z[4 * H:])
      state = (_sigmoid(z[3 * H:4 * H]) * np.tanh(c), c)
    else:
      state = x
  else:
    a = _node_state(cell, p, embedding, tree, ids, tree.left[node], memo)
    b = _node_state(cell, p, embedding, tree, ids, tree.right[node], memo)
    if cell == 'tree_lstm':
      z = np.concatenate([a[0], b[0]]) @ p['U'] + p['bias']
      H = z.shape[0] // 5
      gate = lambda k: _sigmoid(z[k * H:(k + 1) * H])
      c = gate(0) * np.tanh(z[4 * H:]) + gate(1) * a[1] + gate(2) * b[1]
      state = (gate(3) * np.tanh(c), c)
    else:
      ab = np.concatenate([a, b])
      pre = ab @ p['W'] + p['bias']
      if cell == 'rntn':
        pre = pre + np.array([ab @ p['V'][:, :, k] @ ab for k in range(p['V'].shape[2])])
      state = np.tanh(pre)
  memo[node] = state
  return state


def _reference_logits(cell, params, parsed, ids):
  p = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
  out = []
  for tree, tree_ids in zip(parsed, ids):
    memo = {}
    states = [_node_state(cell, p, p['embed']['embedding'], tree, tree_ids, n, memo) for n in range(tree.num_nodes)]
    h = np.stack([s[0] if cell == 'tree_lstm' else s for s in states])
    out.append(h @ p['classify']['kernel'] + p['classify']['bias'])
  return out


def _model(cell):
  return recursive.RecursiveClassifier(vocab_size=40, num_classes=5, cell=cell, embed_dim=6, hidden_size=4,
                                       embed_init_std=0.5)


@pytest.mark.parametrize('cell', recursive.CELLS)
def test_batched_model_equals_a_per_node_recursion_on_trees_of_different_shapes(cell):
  parsed, ids, batch = _batch(SENTENCES)
  model = _model(cell)
  params = model.init(jax.random.PRNGKey(0), batch)['params']
  params = jax.tree.map(lambda a: a + 0.3 * jax.random.normal(jax.random.PRNGKey(1), a.shape), params)
  logits = np.asarray(model.apply({'params': params}, batch))
  for row, expected in enumerate(_reference_logits(cell, params, parsed, ids)):
    np.testing.assert_allclose(logits[row, :len(expected)], expected, rtol=1e-4, atol=1e-5)


def _node_loss(model, params, batch):
  logits = model.apply({'params': params}, batch)
  logp = jax.nn.log_softmax(logits)
  nll = -jnp.take_along_axis(logp, batch['node_label'][..., None], -1)[..., 0]
  return jnp.sum(nll * batch['node_weight'])


@pytest.mark.parametrize('cell', recursive.CELLS)
def test_batched_gradients_equal_the_per_node_recursion_gradients(cell):
  """The Tree-LSTM's levels have a hand-written backward pass (tree_lstm_levels); the others autodiff's."""
  parsed, ids, batch = _batch(SENTENCES, seed=3)
  model = _model(cell)
  params = model.init(jax.random.PRNGKey(2), batch)['params']
  grads = jax.grad(lambda p: _node_loss(model, p, batch))(params)

  def reference_loss(p):  # A per-node recursion in jax.numpy, differentiated by autodiff: no level scan.
    compose = {'recnn': recursive.recnn_compose, 'rntn': recursive.rntn_compose}.get(cell)
    total = 0.0
    for tree, tree_ids in zip(parsed, ids):
      states = {}
      for node in range(tree.num_nodes):  # Post-order: children first.
        if tree.left[node] < 0:
          x = p['embed']['embedding'][tree_ids[tree.word[node]]][None]
          if cell == 'tree_lstm':
            zeros = jnp.zeros((1, 2 * model.hidden_size))
            states[node] = recursive.tree_lstm_node(p, x, zeros, zeros)
          else:
            states[node] = x
        elif cell == 'tree_lstm':
          states[node] = recursive.tree_lstm_node(p, None, states[tree.left[node]], states[tree.right[node]])
        else:
          states[node] = compose(p, states[tree.left[node]], states[tree.right[node]])
      h = jnp.concatenate([states[n][:, :model.hidden_size] if cell == 'tree_lstm' else states[n]
                           for n in range(tree.num_nodes)])
      logp = jax.nn.log_softmax(h @ p['classify']['kernel'] + p['classify']['bias'])
      total -= jnp.sum(logp[jnp.arange(tree.num_nodes), tree.labels])
    return total

  expected = jax.grad(reference_loss)(params)
  jax.tree.map(lambda g, e: np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-6), grads, expected)
  # And against finite differences along one random direction.
  direction = jax.tree.map(lambda a: jax.random.normal(jax.random.PRNGKey(5), a.shape), params)
  eps = 1e-3
  shifted = lambda s: _node_loss(model, jax.tree.map(lambda a, d: a + s * eps * d, params, direction), batch)
  numeric = (shifted(1.0) - shifted(-1.0)) / (2 * eps)
  analytic = sum(jnp.vdot(g, d) for g, d in zip(jax.tree.leaves(grads), jax.tree.leaves(direction)))
  np.testing.assert_allclose(analytic, numeric, rtol=2e-2)


@pytest.mark.parametrize('cell', recursive.CELLS)
def test_padding_nodes_levels_and_filler_rows_change_nothing(cell):
  parsed, ids, tight = _batch(SENTENCES[:2], batch_size=2)
  loose = trees.make_batch(parsed, ids, 'sst5', np.arange(2), 5, pad_multiple=16, level_multiple=8)
  model = _model(cell)
  params = model.init(jax.random.PRNGKey(0), tight)['params']
  a, b = model.apply({'params': params}, tight), model.apply({'params': params}, loose)
  for row, tree in enumerate(parsed):
    np.testing.assert_allclose(a[row, :tree.num_nodes], b[row, :tree.num_nodes], rtol=1e-6, atol=1e-6)
  # Gradients of the labeled nodes' loss agree too.
  ga = jax.grad(lambda p: _node_loss(model, p, tight))(params)
  gb = jax.grad(lambda p: _node_loss(model, p, loose))(params)
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6), ga, gb)


def _treebank(tmp_path, copies=6):
  (tmp_path / 'sst').mkdir()
  for split in ('train', 'dev', 'test'):
    with gzip.open(tmp_path / 'sst' / f'{split}.txt.gz', 'wt') as f:
      f.write('\n'.join(SENTENCES * copies) + '\n')
  return str(tmp_path)


@pytest.mark.parametrize('cell', ['rntn', 'tree_lstm'])
def test_training_a_tree_model_then_drawing_a_tree_from_its_workdir(tmp_path, cell):
  import os
  import subprocess
  import sys
  import json
  from training import config_loading
  from training import loop
  data_dir = _treebank(tmp_path)
  config = config_loading.load_config(f'configs/sst/{cell}.py:tiny')
  config.data.dir = data_dir
  config.train.num_steps, config.optimizer.learning_rate = 12, 0.3
  workdir = str(tmp_path / 'run')
  results = loop.train_and_evaluate(config, workdir)
  records = [json.loads(line) for line in open(os.path.join(workdir, 'metrics.jsonl'))]
  losses = [r['loss'] for r in records if r['split'] == 'train']
  assert losses[-1] < losses[0]  # The node losses fall on sentences it sees again and again.
  assert 0 <= results['test/accuracy'] <= 100 and 0 <= results['test/phrase_accuracy'] <= 100
  out = tmp_path / 'tree.png'
  done = subprocess.run([sys.executable, os.path.join(config_loading.REPO_ROOT, 'show_tree.py'),
                         f'--workdir={workdir}', '--index=3', f'--out={out}'], capture_output=True, text=True,
                        timeout=120, env=dict(os.environ, JAX_PLATFORMS='cpu'))
  assert done.returncode == 0, done.stderr
  assert out.stat().st_size > 10_000
  bad = subprocess.run([sys.executable, os.path.join(config_loading.REPO_ROOT, 'show_tree.py'),
                        f'--workdir={workdir}', '--index=99'], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, JAX_PLATFORMS='cpu'))
  assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1] == (
      'error: --index=99: the test split of sst5 has trees 0..23.')


@pytest.mark.parametrize('dtype', [jnp.float32, jnp.bfloat16])
def test_tree_lstm_hand_written_backward_equals_autodiff_of_the_level_scan(dtype):
  parsed, _, batch = _batch(SENTENCES * 2, batch_size=8, seed=4)
  B, J = batch['tokens'].shape
  H, rng = 5, np.random.RandomState(0)
  left = np.append(np.where(batch['left'] >= 0, batch['left'] + np.arange(B)[:, None] * J, B * J).reshape(-1), B * J)
  right = np.append(np.where(batch['right'] >= 0, batch['right'] + np.arange(B)[:, None] * J, B * J).reshape(-1),
                    B * J)
  left, right = jnp.asarray(left), jnp.asarray(right)
  states = jnp.asarray(rng.randn(B * J + 1, 2 * H).astype(np.float32))
  kernel, bias = jnp.asarray(rng.randn(2 * H, 5 * H).astype(np.float32)), jnp.asarray(rng.randn(5 * H).astype(np.float32))
  weight = jnp.asarray(rng.randn(B * J + 1, 2 * H).astype(np.float32))
  weight = weight.at[-1].set(0.0)  # The scratch row is no output.

  def hand(k, b, s):
    return jnp.sum(recursive.tree_lstm_levels(k, b, s, left, right, batch['levels'], dtype) * weight)

  def auto(k, b, s):
    compose = lambda l, r: recursive.tree_lstm_node({'U': k, 'bias': b}, None, l, r, dtype)
    return jnp.sum(recursive._scan_levels(compose, s, left, right, batch['levels']) * weight)

  np.testing.assert_allclose(hand(kernel, bias, states), auto(kernel, bias, states), rtol=1e-6)
  got, expected = (jax.grad(f, (0, 1, 2))(kernel, bias, states) for f in (hand, auto))
  tol = dict(rtol=1e-4, atol=1e-4) if dtype == jnp.float32 else dict(rtol=3e-2, atol=3e-2)
  for g, e in zip(got, expected):
    np.testing.assert_allclose(g[:B * J] if g.shape == states.shape else g,
                               e[:B * J] if e.shape == states.shape else e, **tol)
