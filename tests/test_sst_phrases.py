"""The treebank datasets of the sentence classifiers (data.name sst5 / sst2_trees): roots, and with data.phrases
every labeled phrase in training; read from small tree files written here."""
import gzip
import json

import pytest

from data import labeled
from training import config_loading
from training import loop

TRAIN = [
    "(3 (2 It) (4 (2 's) (4 lovely)))",  # 5 nodes, 2 neutral.
    '(1 (2 (2 The) (2 film)) (1 (1 (2 -LRB-) (1 dull)) (2 -RRB-)))',  # 9 nodes, 5 neutral.
    '(2 (2 Just) (3 fine))',  # A neutral root: sst2_trees drops the whole tree.
    '(4 (3 (2 a) (4 great)) (2 .))',  # 5 nodes, 2 neutral.
]
VALID = ["(0 (0 awful) (2 .))", "(2 (2 so) (2 so))", "(4 (4 Superb) (2 !))"]
TEST = ['(1 (1 weak) (2 .))', '(3 (3 good) (2 fun))']


def _write_treebank(root, splits=None):
  """root/sst/{train,dev,test}.txt.gz as the treebank's files are; returns the data dir."""
  (root / 'sst').mkdir(parents=True)
  for name, lines in (splits or {'train': TRAIN, 'dev': VALID, 'test': TEST}).items():
    with gzip.open(root / 'sst' / f'{name}.txt.gz', 'wt') as f:
      f.write(''.join(line + '\n' for line in lines))
  return str(root)


def _config(name, data_dir='', config='boe', **overrides):
  config = config_loading.load_config(f'configs/classify/{config}.py:tiny')
  return config_loading.apply_overrides(config, {'log.progress_bar': False, 'data.dir': data_dir,
                                                 'data.name': name, **overrides})


def _examples(split):
  return list(zip(*(split[0], split[1].tolist())))


def test_valid_and_test_hold_the_roots_and_train_too_without_phrases(tmp_path):
  data_dir = _write_treebank(tmp_path)
  for phrases in (False, True):
    splits, num_classes = labeled.load_labeled(_config('sst5', data_dir, **{'data.phrases': phrases}).data)
    assert num_classes == 5
    assert _examples(splits['valid']) == [('awful .', 0), ('so so', 2), ('superb !', 4)]
    assert _examples(splits['test']) == [('weak .', 1), ('good fun', 3)]
  splits, _ = labeled.load_labeled(_config('sst5', data_dir).data)
  assert _examples(splits['train']) == [("it 's lovely", 3), ('the film -lrb- dull -rrb-', 1), ('just fine', 2),
                                        ('a great .', 4)]


def test_phrases_in_training_are_every_labeled_node_once(tmp_path):
  data_dir = _write_treebank(tmp_path)
  splits, _ = labeled.load_labeled(_config('sst5', data_dir, **{'data.phrases': True}).data)
  assert len(splits['train'][0]) == 5 + 9 + 3 + 5  # Every node of every training tree.
  assert _examples(splits['train'])[:5] == [('it', 2), ("'s", 2), ('lovely', 4), ("'s lovely", 4), ("it 's lovely", 3)]
  assert _examples(splits['train']).count(('the film -lrb- dull -rrb-', 1)) == 1  # Each sentence once.

  splits, num_classes = labeled.load_labeled(_config('sst2_trees', data_dir, **{'data.phrases': True}).data)
  assert num_classes == 2
  # The neutral-root tree is left out, and the neutral phrases of the others: 3 + 4 + 3 nodes keep a class.
  assert sorted(_examples(splits['train'])) == sorted([
      ('lovely', 1), ("'s lovely", 1), ("it 's lovely", 1),
      ('dull', 0), ('-lrb- dull', 0), ('-lrb- dull -rrb-', 0), ('the film -lrb- dull -rrb-', 0),
      ('great', 1), ('a great', 1), ('a great .', 1)])


def test_sst2_trees_drops_sentences_with_a_neutral_root(tmp_path):
  splits, _ = labeled.load_labeled(_config('sst2_trees', _write_treebank(tmp_path)).data)
  assert _examples(splits['train']) == [("it 's lovely", 1), ('the film -lrb- dull -rrb-', 0), ('a great .', 1)]
  assert _examples(splits['valid']) == [('awful .', 0), ('superb !', 1)]


def test_data_clean_normalizes_the_treebank_sentences_as_it_does_sst2s(tmp_path):
  splits, _ = labeled.load_labeled(_config('sst5', _write_treebank(tmp_path), **{'data.clean': 'kim'}).data)
  assert splits['train'][0][1] == 'the film lrb dull rrb'  # Kim's clean_str on SST-2's "-lrb- dull -rrb-".


def test_phrases_with_a_dataset_without_them_is_a_config_error_before_any_data_is_read():
  for name in ('sst2', 'mr', 'files'):
    with pytest.raises(config_loading.ConfigError, match=r'data.phrases=True .*sst5, sst2_trees.*data.name='):
      config_loading.validate(_config(name, '/nonexistent', **{'data.phrases': True}))
  config_loading.validate(_config('sst2_trees', '/nonexistent', **{'data.phrases': True}))


def test_kim_cnn_trains_on_sst5_phrases_and_scores_valid_roots(tmp_path):
  # Enough trees for a few batches of 8 phrases; tiny trains 6 steps and evaluates every 3.
  data_dir = _write_treebank(tmp_path / 'data', {'train': TRAIN * 3, 'dev': VALID, 'test': TEST})
  config = _config('sst5', data_dir, 'kim_cnn', **{'data.phrases': True})
  results = loop.train_and_evaluate(config, str(tmp_path / 'run'))
  assert json.load(open(tmp_path / 'run' / 'results.json')) == results
  # Valid and test score their 3 and 2 roots, not phrases: accuracies are multiples of 1/3 and 1/2.
  assert (3 * results['valid/accuracy'] / 100) == pytest.approx(round(3 * results['valid/accuracy'] / 100))
  assert results['test/accuracy'] in (0.0, 50.0, 100.0)
  records = [json.loads(line) for line in open(tmp_path / 'run' / 'metrics.jsonl')]
  assert sorted(r['step'] for r in records if r['split'] == 'valid' and 'accuracy' in r) == [3, 6]
