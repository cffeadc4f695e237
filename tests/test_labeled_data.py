"""Classification data: labeled files, k-fold splits, the word vocabulary and batches.

The MR / SST-2 tests read $SEQLAB_DATA_DIR and skip when it is unset or lacks sentiment/.
"""
import collections
import gzip
import json
import os

import ml_collections
import numpy as np
import pytest

from data import batching
from data import files
from data import kim_text
from data import labeled
from data import tokenizers

DATA_DIR = os.environ.get('SEQLAB_DATA_DIR', '')


def _real_data_dir():
  if not os.path.isdir(os.path.join(DATA_DIR, 'sentiment')):
    pytest.skip('SEQLAB_DATA_DIR does not hold sentiment/')
  return DATA_DIR


def _config(**fields):
  return ml_collections.ConfigDict(fields)


def _write(path, lines):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  data = ''.join(line + '\n' for line in lines).encode('utf-8')
  with (gzip.open if path.endswith('.gz') else open)(path, 'wb') as f:
    f.write(data)


def _examples(n, seed=0):
  """n distinct `LABEL TEXT` lines with three classes and lengths 0..11."""
  rng = np.random.default_rng(seed)
  return [f'{i % 3} ' + ' '.join([f'w{i}'] + [f'v{j}' for j in rng.integers(0, 20, i % 12)])
          for i in range(n)]


def _pairs(split):
  """The (label, text) multiset of a split, to compare with the file's lines."""
  texts, labels = split
  return collections.Counter(zip(labels.tolist(), texts))


def _file_pairs(path):
  with open(path, 'rb') as f:
    data = f.read()
  try:
    text = data.decode('utf-8')
  except UnicodeDecodeError:
    text = data.decode('cp1252')  # MR's original encoding.
  return collections.Counter((int(line.split(' ', 1)[0]), line.split(' ', 1)[1].strip())
                             for line in text.rstrip('\n').split('\n'))


# Reading and splitting.

def test_kfold_indices_partition_range_with_balanced_sizes():
  for n, k in ((10, 10), (23, 5), (10662, 10)):
    folds = labeled.kfold_indices(n, k, seed=3)
    assert len(folds) == k
    assert np.array_equal(np.sort(np.concatenate(folds)), np.arange(n))  # Union, no repeats.
    sizes = [len(f) for f in folds]
    assert sum(sizes) == n and max(sizes) - min(sizes) <= 1
    assert all(np.array_equal(f, np.sort(f)) for f in folds)
  same = labeled.kfold_indices(50, 5, seed=3)
  assert all(np.array_equal(a, b) for a, b in zip(same, labeled.kfold_indices(50, 5, seed=3)))
  assert not np.array_equal(same[0], labeled.kfold_indices(50, 5, seed=4)[0])
  with pytest.raises(ValueError, match='3 examples into 5 folds'):
    labeled.kfold_indices(3, 5, 0)


def test_read_labeled_parses_and_names_malformed_lines(tmp_path):
  path = str(tmp_path / 'a.txt')
  _write(path, ['1 a good film . ', '0 bad', '12 many classes', '3 '])
  texts, labels = labeled.read_labeled(path)
  assert texts == ['a good film .', 'bad', 'many classes', '']
  assert labels.dtype == np.int32 and labels.tolist() == [1, 0, 12, 3]
  for bad in ('nospace', 'x words', '-1 words', '1.5 words', ''):
    _write(path, ['1 fine', bad])
    with pytest.raises(ValueError, match=rf'a\.txt, line 2: expected "LABEL TEXT"'):
      labeled.read_labeled(path)
  with pytest.raises(FileNotFoundError, match=r"missing\.txt'.*LABEL TEXT"):
    labeled.read_labeled(str(tmp_path / 'missing.txt'))


def test_read_labeled_takes_utf8_and_windows_1252(tmp_path):
  lines = '0 the action clich\u00e9s \u2013 just pile up \u2026\r\n1 fine\n'
  for encoding in ('utf-8', 'cp1252'):
    (tmp_path / encoding).write_bytes(lines.encode(encoding))
    texts, labels = labeled.read_labeled(str(tmp_path / encoding))
    assert texts == ['the action clich\u00e9s \u2013 just pile up \u2026', 'fine']
    assert labels.tolist() == [0, 1]
  (tmp_path / 'binary').write_bytes(b'0 \x81\xff\n')  # 0x81 is undefined in cp1252.
  with pytest.raises(ValueError, match='neither UTF-8 nor Windows-1252'):
    labeled.read_labeled(str(tmp_path / 'binary'))


def test_files_dataset_with_a_triple_and_with_one_file(tmp_path):
  lines = _examples(60)
  _write(str(tmp_path / 'd/train'), lines[:40])
  _write(str(tmp_path / 'd/valid'), lines[40:50])
  _write(str(tmp_path / 'test'), lines[50:])
  splits, num_classes = labeled.load_labeled(_config(
      name='files', dir=str(tmp_path), train_path='d/train', valid_path='d/valid',
      test_path=str(tmp_path / 'test')))  # Absolute paths are kept.
  assert num_classes == 3  # The training file's labels 0, 1, 2.
  for split, part in (('train', lines[:40]), ('valid', lines[40:50]), ('test', lines[50:])):
    assert splits[split][0] == [line.split(' ', 1)[1] for line in part]
    assert splits[split][1].tolist() == [int(line[0]) for line in part]

  _write(str(tmp_path / 'all'), lines)
  config = _config(name='files', dir=str(tmp_path), path='all', num_folds=4, fold=1,
                   split_seed=5, valid_fraction=0.2)
  splits, num_classes = labeled.load_labeled(config)
  assert num_classes == 3 and [len(splits[s][0]) for s in ('train', 'valid', 'test')] == [36, 9, 15]
  assert sum((_pairs(splits[s]) for s in ('train', 'valid', 'test')), collections.Counter()) \
      == _file_pairs(str(tmp_path / 'all'))
  fold_1 = np.sort(labeled.kfold_indices(60, 4, 5)[1])  # The test fold, in file order.
  assert splits['test'][0] == [lines[i].split(' ', 1)[1] for i in fold_1]


def test_configuration_errors_name_the_problem(tmp_path):
  with pytest.raises(ValueError, match='sst2, mr, imdb, files'):
    labeled.load_labeled(_config(name='yelp', dir=str(tmp_path)))
  missing_dir = r"nowhere'.*does not exist; it should contain 'sentiment/mr.all'"
  with pytest.raises(FileNotFoundError, match=missing_dir):
    labeled.load_labeled(_config(name='mr', dir=str(tmp_path / 'nowhere')))
  with pytest.raises(FileNotFoundError, match=r"Expected 'sentiment/sst2.train' in data directory"):
    labeled.load_labeled(_config(name='sst2', dir=str(tmp_path)))
  with pytest.raises(ValueError, match='missing data.valid_path, data.test_path'):
    labeled.load_labeled(_config(name='files', dir=str(tmp_path), train_path='t'))
  _write(str(tmp_path / 'all'), _examples(30))
  with pytest.raises(ValueError, match=r'data.fold=10 is not in \[0, data.num_folds=10\)'):
    labeled.load_labeled(_config(name='files', dir=str(tmp_path), path='all', fold=10))


def test_one_file_cut_into_folds_takes_its_classes_from_the_whole_file(tmp_path):
  """Every fold gets the same classes; a stray label is an error naming the line, whichever fold it is in."""
  lines = _examples(30)  # Classes 0, 1, 2.
  config = _config(name='files', dir=str(tmp_path), path='all', num_folds=3)
  _write(str(tmp_path / 'all'), lines)
  assert labeled.load_labeled(config)[1] == 3
  _write(str(tmp_path / 'all'), lines[:10] + ['5 stray'] + lines[10:])
  with pytest.raises(files.DataError, match=rf"^Label 5 leaves classes 3, 4 without a training example: "
                                            rf"{tmp_path / 'all'}, line 11\."):
    labeled.load_labeled(config)
  _write(str(tmp_path / 'all'), [])
  with pytest.raises(files.DataError, match='No labeled examples to train on'):
    labeled.load_labeled(config)


def test_kim_cleaning_splits_hyphens_and_clitics_and_drops_other_symbols(tmp_path):
  cases = {
      "it's so laddish , wo n't sit still .": "it 's so laddish , wo n't sit still",
      '[Garbus] re-imagining -lrb- 1930s -rrb- (horror)!': 'garbus re imagining lrb 1930s rrb ( horror ) !',
      "they'll say she'd isn't we're; we've `quote'": "they 'll say she 'd is n't we 're we 've `quote'",
      'café ... – x': 'caf x',
  }
  for raw, cleaned in cases.items():
    assert kim_text.clean_str(raw) == cleaned
    assert labeled.normalizer('kim')(raw) == cleaned and labeled.normalizer('')(raw) == raw
  _write(str(tmp_path / 'train'), ['1 A re-make .', '0 Dull-ish'])
  _write(str(tmp_path / 'valid'), ['1 x'])
  _write(str(tmp_path / 'test'), ['0 y'])
  paths = dict(name='files', dir=str(tmp_path), train_path='train', valid_path='valid', test_path='test')
  assert labeled.load_labeled(_config(clean='kim', **paths))[0]['train'][0] == ['a re make', 'dull ish']
  assert labeled.load_labeled(_config(**paths))[0]['train'][0] == ['A re-make .', 'Dull-ish']
  with pytest.raises(ValueError, match="Unknown data.clean 'kimm'; choose one of: '', kim"):
    labeled.load_labeled(_config(clean='kimm', **paths))


def test_mr_folds_partition_the_file_identically_every_call():
  data_dir = _real_data_dir()
  everything = _file_pairs(os.path.join(data_dir, labeled.MR))
  assert sum(everything.values()) == 10662
  tests = collections.Counter()
  for fold in range(10):
    config = _config(name='mr', dir=data_dir, fold=fold)  # The other fields take their defaults.
    splits, num_classes = labeled.load_labeled(config)
    assert num_classes == 2
    sizes = {split: len(texts) for split, (texts, _) in splits.items()}
    assert sizes['test'] in (1066, 1067) and sizes['valid'] == round(0.1 * (10662 - sizes['test']))
    assert sum((_pairs(s) for s in splits.values()), collections.Counter()) == everything
    tests += _pairs(splits['test'])
    if fold == 0:
      again, _ = labeled.load_labeled(config)
      for split in splits:
        assert again[split][0] == splits[split][0]
        assert np.array_equal(again[split][1], splits[split][1])
  assert tests == everything  # The ten test folds cover MR once.
  assert (0, 'the action clich\u00e9s just pile up .') in everything  # Decoded as cp1252.


def test_sst2_has_its_published_sizes():
  splits, num_classes = labeled.load_labeled(_config(name='sst2', dir=_real_data_dir()))
  assert num_classes == 2
  assert {split: len(splits[split][0]) for split in splits} == {'train': 6920, 'valid': 872, 'test': 1821}
  assert set(np.unique(splits['train'][1]).tolist()) == {0, 1}


# Vocabulary.

def _words(vocab):
  """The word of each id after the reserved ones."""
  return [vocab.decode([i]) for i in range(labeled.NUM_RESERVED, vocab.vocab_size)]


def test_vocabulary_orders_by_count_then_alphabet_and_caps(tmp_path):
  texts = ['d b a c a', 'c e a', '<unk>']  # a:3, c:2, then d, b, e once each.
  build = lambda name, **sizes: labeled.vocabulary(str(tmp_path / name), texts, **dict(
      dict(min_count=1, max_vocab=0), **sizes), rebuild_stale=False)
  vocab = build('all')
  assert vocab.vocab_size == 9 and _words(vocab) == ['a', 'c', 'b', 'd', 'e']
  assert [vocab.ids[role] for role in labeled.RESERVED] == [labeled.PAD_ID, labeled.UNK_ID, labeled.CLS_ID,
                                                            labeled.MASK_ID] == [0, 1, 2, 3]
  assert _words(build('min2', min_count=2)) == ['a', 'c']
  capped = build('capped', max_vocab=6)
  assert capped.vocab_size == 6 and _words(capped) == ['a', 'c']
  ids = capped.encode('a  b c zzz <unk>')
  assert ids.dtype == np.int32 and ids.tolist() == [4, labeled.UNK_ID, 5, labeled.UNK_ID, labeled.UNK_ID]
  assert capped.decode(np.array([4, 5, labeled.PAD_ID, labeled.PAD_ID])) == 'a c'
  assert vocab.decode(vocab.encode(' c a  e\n')) == 'c a e'  # Whitespace, newlines included, separates words.
  assert vocab.encode('').shape == (0,)
  with pytest.raises(ValueError, match=r'data.max_vocab counts the 4 reserved ids \(pad, unk, cls, mask\)'):
    build('small', max_vocab=4)


def test_vocabulary_is_kept_with_its_source_rebuilt_when_stale_and_refused_when_resuming(tmp_path):
  directory = str(tmp_path / 'v')
  vocab = labeled.vocabulary(directory, ['x y y', 'z'], 1, 0, rebuild_stale=False)
  saved = json.loads((tmp_path / 'v' / tokenizers.CONFIG_FILE).read_text(encoding='utf-8'))
  assert saved['words'] == ['y', 'x', 'z'] and saved['source']['reserved'] == list(labeled.RESERVED)
  assert _words(labeled.vocabulary(directory, ['x y y', 'z'], 1, 0, rebuild_stale=False)) == _words(vocab)
  for changed in ((['other words'], 1, 0), (['x y y', 'z'], 2, 0), (['x y y', 'z'], 1, 5)):
    with pytest.raises(files.DataError, match='differing in: (min_count|train_text_sha256|vocab_size)'):
      labeled.vocabulary(directory, *changed, rebuild_stale=False)
  assert _words(labeled.vocabulary(directory, ['q q r'], 1, 5, rebuild_stale=True)) == ['q']
  assert _words(labeled.vocabulary(directory, ['q q r'], 1, 5, rebuild_stale=False)) == ['q']  # Saved so.


# Batches.

def _ids(n, seed=0):
  rng = np.random.default_rng(seed)
  # Lengths 0..30; ids above the reserved ones, so a non-PAD id shows a real token.
  return [rng.integers(labeled.NUM_RESERVED, 50, rng.integers(0, 31)).astype(np.int32) for _ in range(n)]


def _check_rows(batch, ids, labels):
  """Each real row holds its example, right-padded; filler rows are empty with weight 0."""
  for row, i in enumerate(batch['index']):
    if i < 0:
      assert batch['weight'][row] == 0 and batch['length'][row] == 0
      assert not batch['tokens'][row].any()
      continue
    n = len(ids[i])
    assert batch['weight'][row] == 1 and batch['length'][row] == n and batch['label'][row] == labels[i]
    assert np.array_equal(batch['tokens'][row, :n], ids[i]) and not batch['tokens'][row, n:].any()


def test_batcher_draws_every_example_once_per_epoch_with_padded_widths():
  ids, labels = _ids(103), np.arange(103, dtype=np.int32) % 4
  batcher = labeled.train_batcher(ids, labels, batch_size=8, seed=1, pad_multiple=8, min_len=5,
                                   pool_batches=4)
  assert batcher.steps_per_epoch == 13  # 3 pools of 32 (4 batches each) and one of 7.
  epochs = []
  for _ in range(2):
    seen = []
    for _ in range(batcher.steps_per_epoch):
      batch = next(batcher)
      assert {k: v.dtype for k, v in batch.items()} == {
          'tokens': np.int32, 'length': np.int32, 'label': np.int32, 'weight': np.float32,
          'index': np.int32}
      assert batch['tokens'].shape[0] == 8 and batch['tokens'].shape[1] % 8 == 0
      assert batch['tokens'].shape[1] == -(-max(5, batch['length'].max()) // 8) * 8
      _check_rows(batch, ids, labels)
      seen += batch['index'][batch['index'] >= 0].tolist()
    assert sorted(seen) == list(range(103))
    epochs.append(seen)
  assert epochs[0] != epochs[1]  # Each epoch its own shuffle.


def test_batcher_resumed_mid_epoch_equals_an_uninterrupted_run():
  ids, labels = _ids(50), np.zeros(50, np.int32)
  run = labeled.train_batcher(ids, labels, batch_size=4, seed=7, pool_batches=3)
  uninterrupted = [next(run) for _ in range(3 * run.steps_per_epoch)]
  first = labeled.train_batcher(ids, labels, batch_size=4, seed=7, pool_batches=3)
  for _ in range(run.steps_per_epoch + 5):
    next(first)
  resumed = labeled.train_batcher(ids, labels, batch_size=4, seed=7, pool_batches=3)
  resumed.restore(first.state())
  assert resumed.state() == {'epoch': 1, 'index': 5}
  for expected in uninterrupted[run.steps_per_epoch + 5:]:
    batch = next(resumed)
    assert all(np.array_equal(batch[k], expected[k]) for k in expected)


def test_length_grouping_pads_less_than_random_batches():
  ids, labels = _ids(400, seed=2), np.zeros(400, np.int32)
  batcher = labeled.train_batcher(ids, labels, batch_size=16, seed=0, pad_multiple=1)
  grouped = sum(int(b['tokens'].size - b['length'].sum())
                for b in (next(batcher) for _ in range(batcher.steps_per_epoch)))
  # Reference: the same batch size over one random permutation, no sorting.
  lengths = np.array([len(s) for s in ids])[np.random.default_rng(0).permutation(400)]
  random_ = sum(16 * lengths[i:i + 16].max() - lengths[i:i + 16].sum() for i in range(0, 400, 16))
  assert grouped < random_ / 4


def test_one_batch_pools_make_uniformly_random_batches():
  """pool_batches=1 (Kim's batching): an epoch's batches are the chunks of its permutation that EpochBatcher
  cuts (in another order), not groups of similar length."""
  ids, labels = _ids(100, seed=4), np.arange(100, dtype=np.int32)  # Labels name the examples.
  batcher = labeled.train_batcher(ids, labels, batch_size=16, seed=3, pad_multiple=1, pool_batches=1)
  reference = batching.EpochBatcher({'label': labels}, batch_size=16, seed=3)
  examples = lambda batch: tuple(sorted(batch['label'][batch['weight'] > 0].tolist()))
  for _ in range(2):  # Two epochs.
    got = sorted(examples(next(batcher)) for _ in range(batcher.steps_per_epoch))
    assert got == sorted(examples(next(reference)) for _ in range(reference.steps_per_epoch))


def test_eval_batches_cover_each_example_once_sorted_by_length():
  ids, labels = _ids(21, seed=3), np.arange(21, dtype=np.int32)
  ids[4] = np.zeros(0, np.int32)  # An empty sentence: length 0, a row of PAD.
  batches = list(labeled.eval_batches(ids, labels, batch_size=5, pad_multiple=4, min_len=3))
  assert len(batches) == 5 and all(b['tokens'].shape[0] == 5 for b in batches)
  order = np.concatenate([b['index'] for b in batches])
  assert order[-4:].tolist() == [-1] * 4 and sorted(order[:21].tolist()) == list(range(21))
  lengths = np.concatenate([b['length'] for b in batches])[:21]
  assert np.all(np.diff(lengths) >= 0) and lengths[0] == 0
  for batch in batches:
    _check_rows(batch, ids, labels)
    assert batch['tokens'].shape[1] == -(-max(3, batch['length'].max()) // 4) * 4
  short = [np.array([5, 6], np.int32), np.zeros(0, np.int32)]
  assert next(labeled.eval_batches(short, [0, 1], 2, pad_multiple=4, min_len=10))['tokens'].shape == (2, 12)
  empty = next(labeled.eval_batches(short[1:], [1], 2))  # min_len 1, pad_multiple 8.
  assert empty['tokens'].shape == (2, 8) and not empty['tokens'].any() and empty['length'].tolist() == [0, 0]


# Pretraining text.

def test_normalize_text_splits_punctuation_like_the_sentiment_files():
  assert labeled.normalize_text('A man, in a hat.') == 'a man , in a hat .'
  assert labeled.normalize_text('Two dogs (one\'s brown) run; "fast"!') == \
      'two dogs ( one\'s brown ) run ; " fast " !'
  assert labeled.normalize_text('A T-shirt costs 3.50 dollars?') == 'a t-shirt costs 3.50 dollars ?'


def test_pretraining_texts_concatenate_the_requested_corpora(tmp_path):
  _write(str(tmp_path / 'sentiment/sst2.train'), ['1 good .', '0 bad .'])
  _write(str(tmp_path / 'sentiment/mr.all'), ['1 fine film ', '0 dull'])
  _write(str(tmp_path / 'multi30k/train.en.gz'), ['A dog runs.', '', 'Two men, outside.'])
  _write(str(tmp_path / 'mine.txt'), ['My Own Line', ''])
  config = _config(dir=str(tmp_path))
  assert labeled.pretraining_texts(config)[0] == [
      'good .', 'bad .', 'fine film', 'dull', 'a dog runs .', 'two men , outside .']
  config.pretrain_corpus = 'mine.txt, sst2'
  assert labeled.pretraining_texts(config)[0] == ['My Own Line', 'good .', 'bad .']
  config.pretrain_corpus = str(tmp_path / 'mine.txt')
  assert labeled.pretraining_texts(config)[0] == ['My Own Line']
  config.pretrain_corpus = 'sst2,wiki'
  with pytest.raises(ValueError, match=r"'wiki'.*sst2, mr, multi30k, imdb"):
    labeled.pretraining_texts(config)
  # IMDB: the training reviews outside the classifier's valid split, then the unlabeled ones; <br /> as spaces.
  reviews = [f'Review {i}.<br />Fine.' for i in range(40)]
  _write(str(tmp_path / 'imdb/train.txt.gz'), [f'{i % 2} {text}' for i, text in enumerate(reviews)])
  _write(str(tmp_path / 'imdb/unsup.txt.gz'), ['Unlabeled<br /><br />one', 'two'])
  config.pretrain_corpus = 'imdb'
  kept = [text.replace('<br />', ' ') for text, valid in zip(reviews, labeled.held_out(reviews, 0.1)) if not valid]
  assert 0 < len(kept) < 40
  assert labeled.pretraining_texts(config)[0] == kept + ['Unlabeled  one', 'two']
  config.pretrain_corpus = 'imdb_sentences'  # Each review cut into sentences, normalized like the sentiment files.
  assert labeled.pretraining_texts(config)[0] == [
      sentence for text in kept for sentence in (text.split('.')[0].lower() + ' .', 'fine .')] + ['unlabeled one', 'two']


def test_sentences_end_at_a_stop_before_what_can_start_one():
  text = 'It was "great!" Then it ended... (Sadly.) 3 stars? no. A 2.5 hour film.  Really'
  assert labeled.split_sentences(text) == ['It was "great!"', 'Then it ended...', '(Sadly.)', '3 stars? no.',
                                           'A 2.5 hour film.', 'Really']


def test_pretraining_texts_drop_the_excluded_sentences(tmp_path):
  _write(str(tmp_path / 'sentiment/sst2.train'), ['1 good .', '0 bad .'])
  _write(str(tmp_path / 'sentiment/sst2.dev'), ['1 it\'s fine'])
  _write(str(tmp_path / 'sentiment/sst2.test'), ['0 DULL !'])
  _write(str(tmp_path / 'sentiment/mr.all'), ['1 it \'s fine', '0 dull', '1 not dull at all'])
  _write(str(tmp_path / 'held.txt'), ['0 bad .'])
  config = _config(dir=str(tmp_path), pretrain_corpus='sst2,mr')
  assert labeled.pretraining_texts(config)[0] == ['good .', 'bad .', 'it \'s fine', 'dull', 'not dull at all']
  config.pretrain_exclude = 'sst2_eval'
  assert labeled.pretraining_texts(config)[0] == ['good .', 'bad .', 'not dull at all']
  config.pretrain_exclude = 'sst2_eval, held.txt'
  assert labeled.pretraining_texts(config) == (['good .', 'not dull at all'], 3)
  config.pretrain_exclude = 'mr'  # All of MR: each of its sentences is a test sentence of one fold.
  assert labeled.pretraining_texts(config) == (['good .', 'bad .'], 3)
  config.pretrain_exclude = 'nothing.txt'
  with pytest.raises(ValueError, match=r"'nothing.txt'.*sst2_eval"):
    labeled.pretraining_texts(config)


def test_pretraining_texts_of_the_real_corpora():
  data_dir = _real_data_dir()
  if not os.path.exists(os.path.join(data_dir, labeled.MULTI30K_EN)):
    pytest.skip('SEQLAB_DATA_DIR does not hold multi30k/')
  texts = labeled.pretraining_texts(_config(dir=data_dir))[0]
  assert len(texts) == 6920 + 10662 + 29000
  assert texts[-29000] == 'two young , white males are outside near many bushes .'
  assert texts[0].startswith('a stirring , funny')
