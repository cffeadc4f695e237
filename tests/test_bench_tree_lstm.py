"""bench/tree_lstm.py's core at tiny sizes: its PyTorch recursion and seqlab's batched step compute the same loss."""
import numpy as np
import pytest

torch = pytest.importorskip('torch', reason='the benchmark compares against PyTorch')

from bench import tree_lstm  # noqa: E402
from data import trees as trees_lib  # noqa: E402

LINES = [
    "(3 (2 It) (4 (2 's) (4 lovely)))",
    '(1 (2 (2 The) (2 film)) (1 (1 (2 is) (1 dull)) (2 .)))',
    '(2 ok)',
    '(4 (3 (3 (2 a) (3 (3 truly) (4 great))) (2 (2 and) (3 moving))) (3 (2 (2 little) (2 film)) (2 .)))',
    '(0 (1 awful) (2 (2 film) (2 .)))',
]
SIZES = dict(dim=6, hidden=4, learning_rate=0.05, pad_multiple=4, level_multiple=2)


def _data():
  parsed = [trees_lib.parse_tree(line) for line in LINES]
  vocab = tree_lstm.vocabulary(parsed)
  ids = [np.array([vocab[w] for w in t.words], np.int32) for t in parsed]
  return parsed, ids, len(vocab) + 1


def test_vocabulary_and_groups():
  parsed, ids, vocab_size = _data()
  assert vocab_size == 17 and ids[1].tolist() == [4, 5, 6, 7, 8]  # 16 words from 1; 0 is padding.
  assert ids[3].tolist()[-2:] == [5, 8]  # 'film' and '.' again: the ids they got first.
  groups = tree_lstm.batch_groups(parsed, 2)
  assert [g.tolist() for g in groups] == [[2, 0], [4, 1], [3]]  # By size (1, 5, 7, 9, 17 nodes), stable.


def test_torch_recursion_and_seqlab_agree_before_and_after_an_adagrad_step():
  parsed, ids, vocab_size = _data()
  index = np.arange(len(parsed))
  seqlab_losses, torch_losses = tree_lstm.check_agreement(parsed, ids, vocab_size, index, **SIZES)
  # Every node of every tree is in the loss: about ln(5) per node at the start.
  assert 0.5 * np.log(5) * 39 < seqlab_losses[0] < 2 * np.log(5) * 39
  assert seqlab_losses[1] < seqlab_losses[0]  # The step did something, so the second pair checks the optimizers.
  np.testing.assert_allclose(seqlab_losses, torch_losses, rtol=1e-5)
  # Perturbed parameters make the gates unlike each other, so a mix-up of any two would show.
  seqlab_losses, torch_losses = tree_lstm.check_agreement(parsed, ids, vocab_size, index, perturb=0.5, **SIZES)
  np.testing.assert_allclose(seqlab_losses, torch_losses, rtol=1e-5)


def test_the_check_tells_different_parameters_apart():
  """A torch model with its own initial parameters gives another loss: agreement is not vacuous."""
  parsed, ids, vocab_size = _data()
  seqlab_losses, _ = tree_lstm.check_agreement(parsed, ids, vocab_size, np.arange(len(parsed)), **SIZES)
  torch.manual_seed(0)
  own = tree_lstm.torch_tree_lstm(vocab_size, SIZES['dim'], SIZES['hidden'])
  loss = tree_lstm.torch_trainer(own, SIZES['learning_rate'])([(t, i) for t, i in zip(parsed, ids)])
  assert abs(loss - seqlab_losses[0]) > 1e-3 * seqlab_losses[0]


def test_both_timers_run_whole_passes():
  parsed, ids, vocab_size = _data()
  groups = tree_lstm.batch_groups(parsed, 2)
  seqlab = tree_lstm.time_seqlab(parsed, ids, vocab_size, groups, 2, **SIZES)
  assert seqlab['shapes'] == len({tree_lstm.shape_key(trees_lib.make_batch(parsed, ids, 'sst5', g, 2, 4, 2))
                                  for g in groups})
  assert seqlab['sentences_per_s'] > 0 and seqlab['compile_s'] > 0
  torch_result = tree_lstm.time_torch(parsed, ids, vocab_size, groups, 2, torch_threads=1, **SIZES)
  assert torch_result['threads'] == 1
  np.testing.assert_allclose(torch_result['ms_per_batch'] * 1e-3 * 2 * len(groups),
                             2 * len(parsed) / torch_result['sentences_per_s'], rtol=1e-6)
