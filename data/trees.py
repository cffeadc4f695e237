"""The Stanford Sentiment Treebank's trees: reading, root and phrase labels, and batches for tree models.

A tree is one line in PTB bracket form with every node labeled 0 (very negative) .. 4 (very positive):
`(3 (2 It) (4 (2 's) (4 lovely)))`. Leaves hold one word; the treebank's trees are binary, and so are the
models here (models/recursive.py), so an internal node with other than two children is an error.

Nodes are numbered in post-order (children before their parent, the root last). A Tree keeps, per node,
its label, its two children (-1 for a leaf), the word a leaf holds (-1 for an internal node) and the span
of words it covers, so every node is also a phrase (Socher et al. 2013 label each one).

SST-5 ('sst5') classifies into the five labels; SST-2 ('sst2_trees') maps 0-1 to negative (0) and 3-4 to
positive (1), drops sentences whose root is neutral (2) and gives neutral phrases no label (BINARY's -1).

Tree batches (make_batch) are numpy dicts of fixed-size rows, J nodes per tree (padded up to a multiple of
pad_multiple):

  'tokens'     (B, J) int32    a leaf's word id; PAD at internal and padding nodes
  'left'       (B, J) int32    a node's children, as node numbers of the same tree; -1 at leaves and padding
  'right'      (B, J) int32
  'node_label' (B, J) int32    each node's label (0 where it has none)
  'node_weight'(B, J) float32  1 at a node with a label, 0 at padding and (SST-2) neutral phrases
  'root'       (B,)   int32    the root's node number (the tree's node count - 1)
  'label'      (B,)   int32    the root's label
  'weight'     (B,)   float32  1 for a tree, 0 for a filler row
  'index'      (B,)   int32    the tree's position in its split, -1 for filler rows
  'levels'     (H, U) int32    the internal nodes of the batch, flattened (b * J + node), in rows that a
                               model computes one after the other: every node is in a later row than its
                               children; padded with B * J (a scratch slot)
  'leaves'     (L,)   int32    the leaves of the batch, flattened likewise, padded with B * J to a
                               coarse size (batching.round_up_coarse)

A model computes one row of 'levels' at a time, all trees of the batch together (models/recursive.py says
why this schedule; schedule_levels how the rows are filled). H is rounded up to a multiple of
level_multiple, U and L to coarse sizes, so few distinct shapes reach jit.
"""
import dataclasses
import functools
import heapq
import re

import numpy as np

from data import batching
from data import files
from data.parallel import read_lines

NUM_LABELS = 5
DATASETS = ('sst5', 'sst2_trees')
NUM_CLASSES = {'sst5': 5, 'sst2_trees': 2}
SPLITS = {'train': 'sst/train.txt.gz', 'valid': 'sst/dev.txt.gz', 'test': 'sst/test.txt.gz'}
BINARY = np.array([0, 0, -1, 1, 1], np.int32)  # SST-5 label -> SST-2 class; -1: neutral, no class.
PAD_ID = 0  # data/labeled.py's PAD: tree models share the sentence classifiers' vocabulary.

# Split at ASCII white space only: three training leaves hold a no-break space inside one word ('8 1/2').
_TOKEN = re.compile(r'\(|\)|[^ \t\r\n()]+')
NO_BREAK_SPACE = '\u00a0'  # Inside a leaf: written '_', so that every leaf stays one word in whitespace-split text.


@dataclasses.dataclass(frozen=True)
class Tree:
  words: tuple  # The leaves' words, left to right.
  labels: np.ndarray  # (N,) int32, per node in post-order.
  left: np.ndarray  # (N,) int32 child node numbers; -1 at leaves.
  right: np.ndarray
  word: np.ndarray  # (N,) int32: the leaf's position in `words`; -1 at internal nodes.
  span: np.ndarray  # (N, 2) int32: [start, end) of the words a node covers.

  @property
  def num_nodes(self) -> int:
    return len(self.labels)

  def depths(self) -> np.ndarray:
    """(N,) 0 at the root, 1 + the parent's elsewhere."""
    depth = np.zeros(self.num_nodes, np.int32)
    for node in range(self.num_nodes - 1, -1, -1):  # Reverse post-order: parents first.
      if self.left[node] >= 0:
        depth[self.left[node]] = depth[self.right[node]] = depth[node] + 1
    return depth

  def heights(self) -> np.ndarray:
    """(N,) 0 at leaves, 1 + the taller child's elsewhere."""
    height = np.zeros(self.num_nodes, np.int32)
    for node in range(self.num_nodes):  # Post-order: children first.
      if self.left[node] >= 0:
        height[node] = 1 + max(height[self.left[node]], height[self.right[node]])
    return height


class TreeError(files.DataError):
  pass


def parse_tree(line: str, where: str = '<tree>') -> Tree:
  """One bracketed tree; a malformed one is a TreeError naming `where` (file:line) and what is wrong."""
  tokens = _TOKEN.findall(line)
  if not tokens:
    raise TreeError(f'{where}: empty line, expected a tree like (3 (2 It) (4 lovely)).')
  words, labels, left, right, word, span = [], [], [], [], [], []
  pos = 0

  def fail(message):
    at = f' (token {pos + 1} of {len(tokens)})' if pos < len(tokens) else ''
    raise TreeError(f'{where}: {message}{at}.')

  def node() -> int:
    """Reads one node from tokens[pos] on; returns its number."""
    nonlocal pos
    if pos >= len(tokens) or tokens[pos] != '(':
      fail('expected "(" to open a node' if pos < len(tokens) else 'unbalanced brackets: the tree ends early')
    pos += 1
    if pos >= len(tokens) or tokens[pos] in '()':
      fail('a node without a label')
    label_text = tokens[pos]
    if not label_text.isdigit() or int(label_text) >= NUM_LABELS:
      fail(f'label {label_text!r} is not an integer 0..{NUM_LABELS - 1}')
    pos += 1
    if pos < len(tokens) and tokens[pos] not in '()':  # A leaf: (label word).
      start = len(words)
      words.append(tokens[pos].replace(NO_BREAK_SPACE, '_'))
      pos += 1
      children, leaf = (-1, -1), start
      covers = (start, start + 1)
    else:
      kids = []
      while pos < len(tokens) and tokens[pos] == '(':
        kids.append(node())
      if not kids:
        fail('an empty leaf (a label without a word)')
      if len(kids) != 2:
        fail(f'a node with {len(kids)} children; the treebank\'s trees (and the models) are binary')
      children, leaf = tuple(kids), -1
      covers = (span[kids[0]][0], span[kids[1]][1])
    if pos >= len(tokens) or tokens[pos] != ')':
      fail('unbalanced brackets: a node is not closed')
    pos += 1
    labels.append(int(label_text))
    left.append(children[0])
    right.append(children[1])
    word.append(leaf)
    span.append(covers)
    return len(labels) - 1

  node()
  if pos != len(tokens):
    fail('unbalanced brackets: text after the tree\'s last ")"')
  as_array = lambda values: np.asarray(values, np.int32)
  return Tree(tuple(words), as_array(labels), as_array(left), as_array(right), as_array(word),
              as_array(span).reshape(-1, 2))


def read_trees(path: str) -> list:
  """Every tree of a file (plain or .gz), one per line; a malformed line is a TreeError naming it."""
  return [parse_tree(line, f'{path}:{i + 1}') for i, line in enumerate(read_lines(path)) if line.strip()]


def leaf_ids(vocab, tree: Tree) -> np.ndarray:
  """The word ids of the tree's leaves, one per leaf (a word vocabulary that splits at white space)."""
  ids = vocab.encode(' '.join(tree.words))
  if len(ids) != len(tree.words):  # A leaf with white space inside would shift every later word.
    raise ValueError(f'{len(tree.words)} leaves but {len(ids)} word ids in {" ".join(tree.words)!r}.')
  return ids


def class_labels(tree: Tree, name: str) -> np.ndarray:
  """(N,) each node's class for dataset `name`: the label (sst5) or BINARY's (sst2_trees, -1 for neutral)."""
  return tree.labels if name == 'sst5' else BINARY[tree.labels]


def load_trees(data_dir: str, name: str) -> dict:
  """{'train', 'valid', 'test'} -> list of trees; for sst2_trees, those whose root is neutral are left out."""
  if name not in DATASETS:
    raise ValueError(f'Unknown tree dataset {name!r}; choose from {", ".join(DATASETS)}.')
  splits = {split: read_trees(files.data_path(data_dir, path)) for split, path in SPLITS.items()}
  if name == 'sst2_trees':
    splits = {split: [t for t in trees if BINARY[t.labels[-1]] >= 0] for split, trees in splits.items()}
  return splits


def phrases(tree: Tree, name: str) -> list:
  """(words, class) of every node of the tree with a class, each node once, in post-order (the root last)."""
  classes = class_labels(tree, name)
  return [(tree.words[start:end], int(c)) for (start, end), c in zip(tree.span, classes) if c >= 0]


def schedule_levels(internal: list, scratch: int, multiple: int) -> np.ndarray:
  """(H, U) rows of internal nodes, each node in a row after its children's; padded with `scratch`.

  internal: (node, its internal children, its depth) of every internal node of the batch. Scheduling each
  node at its height would pad every row to the widest (the lowest levels hold most nodes: 3-4x the slots
  of the nodes). Instead rows have a fixed width U and are filled by list scheduling: each row takes the
  ready nodes (children done) deepest first, since they head the longest chains to a root. U is chosen,
  among the four coarse sizes (batching.round_up_coarse) from (nodes / tallest tree) up, to need the
  fewest slots once H is rounded up to a multiple of `multiple`.
  """
  if not internal:
    return np.full((multiple, batching.round_up_coarse(1)), scratch, np.int32)
  waiting = {node: len(kids) for node, kids, _ in internal}
  parent = {kid: node for node, kids, _ in internal for kid in kids}
  depth = {node: d for node, _, d in internal}
  tallest = max(depth.values()) + 1  # A lower bound on the rows: the longest chain of internal nodes.

  def fill(width: int) -> list:
    pending, rows, ready = dict(waiting), [], [(-depth[n], n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    while ready:
      row = [heapq.heappop(ready)[1] for _ in range(min(width, len(ready)))]
      for node in row:
        up = parent.get(node)
        if up is not None:
          pending[up] -= 1
          if pending[up] == 0:
            heapq.heappush(ready, (-depth[up], up))
      rows.append(row)
    return rows

  widths = [batching.round_up_coarse(-(-len(internal) // tallest))]
  while len(widths) < 4:
    widths.append(batching.round_up_coarse(widths[-1] + 1))
  slots = lambda width_rows: batching.round_up(len(width_rows[1]), multiple) * width_rows[0]
  width, rows = min(((width, fill(width)) for width in widths), key=slots)
  levels = np.full((batching.round_up(len(rows), multiple), width), scratch, np.int32)
  for h, row in enumerate(rows):
    levels[h, :len(row)] = row
  return levels


def make_batch(trees: list, token_ids: list, name: str, index: np.ndarray, batch_size: int,
               pad_multiple: int = 8, level_multiple: int = 4) -> dict:
  """The batch of trees `index` (at most batch_size), filler rows appended (module docstring's layout).

  token_ids[i]: the word ids of trees[i]'s words.
  """
  chosen = [trees[i] for i in index]
  J = batching.round_up(max([1] + [t.num_nodes for t in chosen]), pad_multiple)
  tokens, left, right = (np.full((batch_size, J), fill, np.int32) for fill in (PAD_ID, -1, -1))
  node_label, node_weight = np.zeros((batch_size, J), np.int32), np.zeros((batch_size, J), np.float32)
  root = np.zeros(batch_size, np.int32)
  internal = []  # (flat node, flat internal children, depth below the root)
  for row, (i, tree) in enumerate(zip(index, chosen)):
    n = tree.num_nodes
    leaf = tree.word >= 0
    tokens[row, :n][leaf] = np.asarray(token_ids[i], np.int32)[tree.word[leaf]]
    left[row, :n], right[row, :n] = tree.left, tree.right
    classes = class_labels(tree, name)
    node_label[row, :n] = np.maximum(classes, 0)
    node_weight[row, :n] = classes >= 0
    root[row] = n - 1
    depth = tree.depths()
    for node in range(n):
      if tree.left[node] >= 0:
        kids = [row * J + k for k in (tree.left[node], tree.right[node]) if tree.left[k] >= 0]
        internal.append((row * J + node, kids, int(depth[node])))
  levels = schedule_levels(internal, batch_size * J, level_multiple)
  leaves = np.flatnonzero((left < 0) & (np.arange(J)[None, :] < root[:, None] + 1)).astype(np.int32)
  return {'tokens': tokens, 'left': left, 'right': right, 'node_label': node_label, 'node_weight': node_weight,
          'root': root, 'label': node_label[np.arange(batch_size), root],
          'weight': batching.fill_rows(np.ones(len(index)), batch_size, 0, np.float32),
          'index': batching.fill_rows(index, batch_size, -1, np.int32), 'levels': levels,
          'leaves': batching.fill_rows(leaves, batching.round_up_coarse(len(leaves)), batch_size * J)}


def train_batcher(trees: list, token_ids: list, name: str, batch_size: int, seed: int,
                  pool_batches: int = 100, **batch_args) -> batching.LengthGroupedBatcher:
  """Shuffled batches of trees of similar size (fewer padded nodes and levels)."""
  if not trees:
    raise ValueError('No trees to train on.')
  make = functools.partial(make_batch, trees, token_ids, name, batch_size=batch_size, **batch_args)
  return batching.LengthGroupedBatcher([t.num_nodes for t in trees], batch_size, seed, make, pool_batches)


def eval_batches(trees: list, token_ids: list, name: str, batch_size: int, **batch_args):
  """Every tree once, sorted by size (stable); 'index' restores the split's order."""
  make = functools.partial(make_batch, trees, token_ids, name, batch_size=batch_size, **batch_args)
  return batching.split_batches(make, len(trees), batch_size, lengths=[t.num_nodes for t in trees])
