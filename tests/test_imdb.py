"""IMDB document classification: raw reviews, the hashed valid split, max_len, errors, a tiny training run.

The tests write reviews in IMDB's format (gzip, `LABEL TEXT`, <br /> tags, sorted by label) under tmp_path;
the last one reads the real files and skips unless $SEQLAB_DATA_DIR holds imdb/.
"""
import collections
import gzip
import json
import os
import re

import ml_collections
import numpy as np
import pytest

import tasks
from data import files
from data import labeled
from data import tokenizers
from training import config_loading
from training import loop

DATA_DIR = os.environ.get('SEQLAB_DATA_DIR', '')


def _reviews(n, seed=0):
  """n distinct raw reviews as IMDB's files hold them: (label, text), sorted by label, with <br /> tags."""
  rng = np.random.RandomState(seed)
  words = (['Awful', 'boring,', 'dull', 'WORST', 'plot.'], ['Great', 'moving,', 'fun', 'BEST', 'acting!'])
  reviews = []
  for i in range(n):
    label = int(i >= n // 2)
    body = ' '.join(rng.choice(words[label], rng.randint(2, 12)))
    reviews.append((label, f'Review {seed}-{i}: {body}<br /><br />{rng.choice(words[label])} film.'))
  return reviews


def _write(directory, split, reviews):
  os.makedirs(directory / 'imdb', exist_ok=True)
  with gzip.open(directory / 'imdb' / f'{split}.txt.gz', 'wt', encoding='utf-8') as f:
    f.writelines(f'{label} {text}\n' for label, text in reviews)
  return str(directory / 'imdb' / f'{split}.txt.gz')


def _imdb(directory, train, test):
  _write(directory, 'train', train)
  _write(directory, 'test', test)
  return str(directory)


def _data_config(data_dir, **fields):
  return ml_collections.ConfigDict(dict(dict(name='imdb', dir=data_dir, clean='', valid_fraction=0.1, split_seed=0),
                                        **fields))


def _config(data_dir, **overrides):
  config = config_loading.load_config('configs/classify/imdb_lstm.py:tiny')
  return config_loading.apply_overrides(config, dict({'log.progress_bar': False, 'data.dir': data_dir}, **overrides))


def _as_read(reviews):
  return collections.Counter((label, text.replace('<br />', ' ')) for label, text in reviews)


def test_reviews_are_read_without_tags_and_a_hashed_tenth_of_train_is_valid(tmp_path):
  train, test = _reviews(2000), _reviews(50, seed=1)
  train.insert(3, train[2])  # A repeated review (IMDB's train holds 96 repeats).
  splits, num_classes = labeled.load_labeled(_data_config(_imdb(tmp_path / 'a', train, test)))
  assert num_classes == 2
  pairs = {split: collections.Counter(zip(labels.tolist(), texts)) for split, (texts, labels) in splits.items()}
  assert pairs['train'] + pairs['valid'] == _as_read(train) and pairs['test'] == _as_read(test)
  assert not any('<br' in text for texts, _ in splits.values() for text in texts)
  assert '<br /><br />' in test[0][1] and splits['test'][0][0] == test[0][1].replace('<br />', ' ')
  train_texts, valid_texts = set(splits['train'][0]), set(splits['valid'][0])
  assert not train_texts & valid_texts  # The repeated review's copies are on one side.
  assert 150 <= len(splits['valid'][0]) <= 250  # 10% of 2001: 200 ± 13 (one standard deviation).
  assert set(splits['valid'][1].tolist()) == {0, 1}
  # The same valid reviews for another split seed, text normalizer or order of the file.
  shuffled = [train[i] for i in np.random.RandomState(5).permutation(len(train))]
  other, _ = labeled.load_labeled(_data_config(_imdb(tmp_path / 'b', shuffled, test), split_seed=7,
                                               clean='lowercase_split'))
  assert set(other['valid'][0]) == {labeled.normalize_text(text) for text in valid_texts}
  # valid_fraction is the held-out share.
  quarter, _ = labeled.load_labeled(_data_config(str(tmp_path / 'a'), valid_fraction=0.25))
  assert 440 <= len(quarter['valid'][0]) <= 560 and valid_texts <= set(quarter['valid'][0])


def test_lowercase_split_gives_the_words_of_a_lowercasing_punctuation_splitting_word_tokenizer():
  text = 'Great film!  It\'s a "must-see", 10/10 (really).'
  words = labeled.normalizer('lowercase_split')(text).split()
  assert words == ['great', 'film', '!', "it's", 'a', '"', 'must-see', '"', ',', '10', '/', '10', '(', 'really', ')',
                   '.']
  tokenizer = tokenizers.build_tokenizer('word', text, lowercase=True, split_punctuation=True, newline=False)
  assert [tokenizer.vocab[i] for i in tokenizer.encode(text)] == words


def test_max_len_keeps_the_first_tokens_of_each_review(tmp_path):
  test = [(0, 'One two three four five six seven.<br />Eight'), (1, 'Short one!')]
  data_dir = _imdb(tmp_path, _reviews(60) + [(1, 'one two three four five six seven eight short')], test)
  task = tasks.build(_config(data_dir, **{'data.max_len': 5}), str(tmp_path / 'run'))
  decoded = [task.vocab.decode(ids).split() for ids in task.data['test'][0]]
  assert decoded == [['one', 'two', 'three', 'four', 'five'], ['short', 'one', '!']]
  full = tasks.build(_config(data_dir, **{'data.max_len': 0}), str(tmp_path / 'run'))
  assert full.vocab.decode(full.data['test'][0][0]).split()[-3:] == ['seven', '.', 'eight']


def test_bad_files_are_errors_naming_the_file_and_line_or_the_data_dir(tmp_path):
  data_dir = _imdb(tmp_path, _reviews(40), _reviews(10, seed=1))
  build = lambda: tasks.build(_config(data_dir), str(tmp_path / 'run'))
  path = _write(tmp_path, 'test', _reviews(10, seed=1)[:4] + [(2, 'A third class?')])
  with pytest.raises(files.DataError, match=rf"^Label 2 is not one of the 2 classes \(0 to 1\) of "
                                            rf"data.name='imdb': {re.escape(path)}, line 5\.$"):
    build()
  with gzip.open(path, 'at') as f:
    f.write('positive A review without a numeric label.\n')
  with pytest.raises(files.DataError, match=rf'^{re.escape(path)}, line 6: expected "LABEL TEXT"'):
    build()
  os.remove(path)
  with pytest.raises(FileNotFoundError, match=rf"'imdb/test.txt.gz' in data directory {re.escape(repr(data_dir))}"):
    build()


def test_the_imdb_config_trains_and_reports_accuracy(tmp_path):
  data_dir = _imdb(tmp_path, _reviews(120), _reviews(30, seed=1))
  # The training seed does not reach the split.
  valid = [tasks.build(_config(data_dir, seed=seed), str(tmp_path / f'seed{seed}')).data['valid'] for seed in (0, 1)]
  assert valid[0][1].tolist() == valid[1][1].tolist() and all(map(np.array_equal, valid[0][0], valid[1][0]))
  config = _config(data_dir, **{'train.num_steps': 4, 'eval.every_steps': 2})
  results = loop.train_and_evaluate(config, str(tmp_path / 'run'))
  assert 0.0 <= results['valid/accuracy'] <= 100.0 and 0.0 <= results['test/accuracy'] <= 100.0
  records = [json.loads(line) for line in open(tmp_path / 'run' / 'metrics.jsonl')]
  assert sorted(r['step'] for r in records if r['split'] == 'valid' and 'accuracy' in r) == [2, 4]


def test_real_imdb_splits():
  if not os.path.exists(os.path.join(DATA_DIR, labeled.IMDB['train'])):
    pytest.skip('SEQLAB_DATA_DIR does not hold imdb/')
  splits, num_classes = labeled.load_labeled(_data_config(DATA_DIR))
  sizes = {split: len(texts) for split, (texts, _) in splits.items()}
  assert sizes == {'train': 22608, 'valid': 2392, 'test': 25000}  # sha256 of the text puts 9.6% in valid.
  assert num_classes == 2 and all(set(labels.tolist()) == {0, 1} for _, labels in splits.values())
  assert not set(splits['train'][0]) & set(splits['valid'][0])
  assert not any('<br />' in text for texts, _ in splits.values() for text in texts)
