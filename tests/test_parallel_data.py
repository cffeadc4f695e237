"""Translation data: parallel files, vocabularies behind reserved ids, and length-grouped batches.

The Multi30k test reads $SEQLAB_DATA_DIR and skips when it is unset or lacks multi30k/.
"""
import gzip
import json
import os

import ml_collections
import numpy as np
import pytest

import tasks
from data import files
from data import parallel
from data import tokenizers
from training import config_loading

DE_WORDS = 'ein eine der die das mann frau hund kind spielt läuft auf im park straße rot blau'.split()
EN_WORDS = 'a an the man woman dog child plays runs on in park street red blue big'.split()


def _sentences(words, num_lines, seed):
  rng = np.random.default_rng(seed)
  probs = 1 / np.arange(1, len(words) + 1)
  lines = []
  for _ in range(num_lines):
    line = ' '.join(rng.choice(words, size=rng.integers(1, 10), p=probs / probs.sum()))
    lines.append(line[0].upper() + line[1:] + rng.choice(['.', '!', '?', ', ja.']))
  return lines


def _config(**overrides):
  config = ml_collections.ConfigDict(dict(
      name='files', dir='', src_lang='de', tgt_lang='en', tokenizer='bpe', vocab_size=60,
      joint_vocab=False, min_count=2, max_pairs=0, pad_multiple=8,
      train_prefix='c/train', valid_prefix='c/valid', test_prefix='c/test'))
  config.update(overrides)
  return config


def _write(path, lines, gz):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  data = ''.join(line + '\n' for line in lines).encode('utf-8')
  with (gzip.open if gz else open)(path, 'wb') as f:
    f.write(data)


# Reading files.

def test_read_lines_reads_gzip_and_plain_alike(tmp_path):
  # CRLF endings, no final newline, and a U+2028 that must not split its line.
  data = 'Zwei Männer.\r\nA line\u2028with a separator\n\nlast'.encode('utf-8')
  for name, opener in (('a.txt.gz', gzip.open), ('a.txt', open)):
    with opener(str(tmp_path / name), 'wb') as f:
      f.write(data)
    assert parallel.read_lines(str(tmp_path / name)) == [
        'Zwei Männer.', 'A line\u2028with a separator', '', 'last']
  (tmp_path / 'empty').write_bytes(b'')
  assert parallel.read_lines(str(tmp_path / 'empty')) == []


def test_files_corpus_prefers_gz_takes_absolute_prefixes_and_max_pairs(tmp_path):
  de, en = _sentences(DE_WORDS, 12, 0), _sentences(EN_WORDS, 12, 1)
  _write(str(tmp_path / 'c/train.de.gz'), de, gz=True)
  _write(str(tmp_path / 'c/train.de'), ['stale'] * 12, gz=False)  # Shadowed by the .gz.
  _write(str(tmp_path / 'c/train.en'), en, gz=False)
  for split in ('valid', 'test'):
    _write(str(tmp_path / f'c/{split}.de'), de[:3], gz=False)
    _write(str(tmp_path / f'c/{split}.en.gz'), en[:3], gz=True)
  splits = parallel.load_parallel(_config(dir=str(tmp_path), test_prefix=str(tmp_path / 'c/test')))
  assert splits['train'] == (de, en)
  assert splits['valid'] == splits['test'] == (de[:3], en[:3])
  reversed_ = parallel.load_parallel(_config(dir=str(tmp_path), src_lang='en', tgt_lang='de', max_pairs=5))
  assert reversed_['train'] == (en[:5], de[:5])
  assert reversed_['valid'] == (en[:3], de[:3])


def test_misaligned_or_missing_files_and_unknown_names_are_explained(tmp_path):
  _write(str(tmp_path / 'c/train.de'), ['a', 'b', 'c'], gz=False)
  _write(str(tmp_path / 'c/train.en.gz'), ['a', 'b'], gz=True)
  with pytest.raises(ValueError, match=r"train.*c/train\.de'.* 3 lines.*c/train\.en\.gz'.* 2"):
    parallel.load_parallel(_config(dir=str(tmp_path)))
  _write(str(tmp_path / 'c/train.en.gz'), ['a', 'b', 'c'], gz=True)
  with pytest.raises(FileNotFoundError, match=r"c/valid\.de.*c/valid\.de\.gz"):
    parallel.load_parallel(_config(dir=str(tmp_path)))
  with pytest.raises(ValueError, match='multi30k, files'):
    parallel.load_parallel(_config(name='wmt14'))
  with pytest.raises(ValueError, match='test_prefix'):
    parallel.load_parallel(_config(dir=str(tmp_path), test_prefix=''))


def test_multi30k_has_the_published_sizes():
  data_dir = os.environ.get('SEQLAB_DATA_DIR', '')
  if not data_dir or not os.path.isdir(os.path.join(data_dir, 'multi30k')):
    pytest.skip('SEQLAB_DATA_DIR is unset or lacks multi30k/.')
  splits = parallel.load_parallel(_config(name='multi30k', dir=data_dir))
  assert {k: tuple(map(len, v)) for k, v in splits.items()} == {
      'train': (29000, 29000), 'valid': (1014, 1014), 'test': (1000, 1000)}
  src, tgt = splits['train']
  assert src[0] == 'Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.'
  assert tgt[0] == 'Two young, White males are outside near many bushes.'


# Vocabularies.

@pytest.mark.parametrize('kind', ['bpe', 'unigram'])
def test_sentencepiece_vocabulary_reserves_three_ids_and_round_trips(tmp_path, kind):
  de, en = _sentences(DE_WORDS, 300, 0), _sentences(EN_WORDS, 300, 1)
  src_vocab, tgt_vocab = parallel.build_vocabularies(
      _config(tokenizer=kind, vocab_size=60), de, en, str(tmp_path))
  for vocab, lines in ((src_vocab, de), (tgt_vocab, en)):
    assert vocab.vocab_size == 60
    for line in lines:
      ids = vocab.encode(line)
      assert ids.dtype == np.int32 and ids.min() >= 3 and ids.max() < 60
      assert vocab.decode(ids) == line
    # Specials: BOS and PAD are skipped, and decoding stops at the first EOS.
    ids = vocab.encode(lines[0])
    junk = vocab.encode(lines[1])
    row = np.concatenate([[parallel.BOS_ID], ids, [parallel.EOS_ID], junk, [0, 0]])
    assert vocab.decode(row) == lines[0]
    # The tokenizer's own ids, <unk> included, follow the reserved ones in order.
    np.testing.assert_array_equal(ids, vocab.tokenizer.encode(lines[0]) + 3)
  with pytest.raises(ValueError, match=r'data.vocab_size counts the 3 reserved ids \(pad, bos, eos\)'):
    parallel.build_vocabularies(_config(tokenizer=kind, vocab_size=3), de, en, str(tmp_path / 'small'))


def test_word_vocabulary_lowercases_splits_punctuation_and_drops_rare_words(tmp_path):
  en = ['A man is outside near many bushes.', 'A man, a dog!', "The man's dog (big)."]
  _, vocab = parallel.build_vocabularies(_config(tokenizer='word', min_count=2), en, en, str(tmp_path))
  words = vocab.tokenizer.vocab
  # Seen twice or more: a (3), then . dog man (2 each); "man's" is one token, seen once.
  assert words == ['<unk>', '<eos>', 'a', '.', 'dog', 'man']
  ids = vocab.encode('A MAN near bushes.')
  assert ids.tolist() == [5, 8, 3, 3, 6]  # <unk> is 0 + 3.
  assert vocab.decode(ids) == 'a man <unk> <unk>.'
  full = tokenizers.build_tokenizer('word', '\n'.join(en), lowercase=True, split_punctuation=True)
  assert full.decode(full.encode('a man .')) == 'a man.'
  assert full.decode(full.encode("The man's dog, (big)!")) == "the man's dog, (big)!"
  assert full.encode('bushes.').tolist() == full.encode('bushes .').tolist()


def test_word_tokenizer_options_persist_and_old_files_load_as_before(tmp_path):
  tok = tokenizers.build_tokenizer('word', 'a b. a b. c', min_count=2, split_punctuation=True)
  assert tok.vocab == ['<unk>', '<eos>', '.', 'a', 'b']
  tok.save(str(tmp_path))
  restored = tokenizers.load(str(tmp_path))
  assert restored.split_punctuation and restored.min_count == 2
  assert restored.encode('a b.').tolist() == [3, 4, 2]
  # A tokenizer.json written before these options existed: whitespace words, as then.
  config_path = tmp_path / tokenizers.CONFIG_FILE
  data = json.loads(config_path.read_text())
  del data['split_punctuation'], data['min_count']
  config_path.write_text(json.dumps(data))
  old = tokenizers.load(str(tmp_path))
  assert not old.split_punctuation and old.encode('a b.').tolist() == [3, 0]
  with pytest.raises(ValueError, match='split_punctuation applies to the word tokenizer only'):
    tokenizers.build_tokenizer('bpe', 'a b', vocab_size=10, split_punctuation=True)


@pytest.mark.parametrize('joint', [True, False])
def test_saved_vocabularies_are_reused_rebuilt_when_stale_and_refused_when_resuming(tmp_path, monkeypatch, joint):
  de, en = _sentences(DE_WORDS, 200, 0), _sentences(EN_WORDS, 200, 1)
  config = _config(joint_vocab=joint, vocab_size=70)
  src_vocab, tgt_vocab = parallel.build_vocabularies(config, de, en, str(tmp_path))
  assert sorted(os.listdir(tmp_path)) == (['joint'] if joint else ['src', 'tgt'])
  if not joint:  # Separate vocabularies segment one text differently.
    assert src_vocab.encode(de[0]).tolist() != tgt_vocab.encode(de[0]).tolist()
  # The same lines and settings: read from the files, nothing trained (resuming or not).
  with monkeypatch.context() as patch:
    patch.setattr(tokenizers, 'build_tokenizer', lambda *args, **kwargs: pytest.fail('retrained'))
    for resuming in (False, True):
      src_again, tgt_again = parallel.build_vocabularies(config, de, en, str(tmp_path), resuming=resuming)
      for line in de[:20] + en[:20]:
        np.testing.assert_array_equal(src_again.encode(line), src_vocab.encode(line))
        np.testing.assert_array_equal(tgt_again.encode(line), tgt_vocab.encode(line))
  # Other training text: with a checkpoint the vocabulary it indexes is kept and the text refused ...
  other = _sentences(EN_WORDS[::-1], 200, 5)
  with pytest.raises(files.DataError, match='differing in: train_text_sha256'):
    parallel.build_vocabularies(config, other, other, str(tmp_path), resuming=True)
  with pytest.raises(files.DataError, match='differing in: vocab_size'):
    parallel.build_vocabularies(_config(joint_vocab=joint, vocab_size=80), de, en, str(tmp_path), resuming=True)
  # ... and without one the stale vocabulary is rebuilt from it, as in a fresh directory.
  rebuilt = parallel.build_vocabularies(config, other, other, str(tmp_path))
  fresh = parallel.build_vocabularies(config, other, other, str(tmp_path / 'fresh'))
  for got, want in zip(rebuilt, fresh):
    assert got.vocab_size == want.vocab_size
    for line in other[:20]:
      np.testing.assert_array_equal(got.encode(line), want.encode(line))
  assert parallel.build_vocabularies(config, other, other, str(tmp_path), resuming=True)[0].vocab_size == 70


def _translation_config(data_dir, **overrides):
  config = config_loading.load_config('configs/mt/attention.py:tiny')
  return config_loading.apply_overrides(config, dict({
      'data.name': 'files', 'data.dir': str(data_dir), 'data.train_prefix': 'c/train',
      'data.valid_prefix': 'c/valid', 'data.test_prefix': 'c/test', 'data.vocab_size': 60}, **overrides))


def _corpus(data_dir, seed):
  de, en = _sentences(DE_WORDS, 150, seed), _sentences(EN_WORDS, 150, seed + 1)
  for split in ('train', 'valid', 'test'):
    _write(str(data_dir / f'c/{split}.de'), de, gz=False)
    _write(str(data_dir / f'c/{split}.en'), en, gz=False)
  return de, en


def test_a_stale_translation_vocabulary_is_rebuilt_without_a_checkpoint_and_refused_with_one(tmp_path):
  """The task as train.py builds it: `resuming` when the workdir holds a checkpoint."""
  workdir = str(tmp_path / 'run')
  _corpus(tmp_path / 'a', 0)
  _, en_b = _corpus(tmp_path / 'b', 10)
  first = tasks.build(_translation_config(tmp_path / 'a'), workdir)
  # No checkpoint: the vocabulary left by the earlier start is rebuilt from this corpus.
  task = tasks.build(_translation_config(tmp_path / 'b'), workdir)
  fresh = tasks.build(_translation_config(tmp_path / 'b'), str(tmp_path / 'fresh'))
  assert task.ids['train'][1][0].tolist() == fresh.ids['train'][1][0].tolist() != first.ids['train'][1][0].tolist()
  assert task.tgt_vocab.decode(task.tgt_vocab.encode(en_b[0])) == en_b[0]
  assert tasks.build(_translation_config(tmp_path / 'b'), workdir, resuming=True).model_dims == task.model_dims
  with pytest.raises(files.DataError, match='train_text_sha256'):
    tasks.build(_translation_config(tmp_path / 'a'), workdir, resuming=True)
  with pytest.raises(files.DataError, match='differing in: .*tokenizer'):
    tasks.build(_translation_config(tmp_path / 'b', **{'data.tokenizer': 'word'}), workdir, resuming=True)


# Batches.

def _random_ids(num, seed, max_len=30, empty_every=0):
  rng = np.random.default_rng(seed)
  ids = [rng.integers(3, 50, size=rng.integers(1, max_len + 1)).astype(np.int32) for _ in range(num)]
  if empty_every:
    for i in range(0, num, empty_every):
      ids[i] = np.zeros(0, np.int32)
  return ids


def _check_rows(batch, src_ids, tgt_ids, batch_size, pad_multiple=8):
  """Each row against the pair it names, built naively; returns the real indices."""
  assert {k: v.shape[0] for k, v in batch.items()} == dict.fromkeys(batch, batch_size)
  S, T = batch['src'].shape[1], batch['tgt_in'].shape[1]
  assert S % pad_multiple == 0 and T % pad_multiple == 0 and S > 0
  real = []
  for row, i in enumerate(batch['index'].tolist()):
    src, tgt = (src_ids[i], tgt_ids[i]) if i >= 0 else ([], None)
    expected_src = np.zeros(S, np.int32)
    expected_src[:len(src)] = src
    np.testing.assert_array_equal(batch['src'][row], expected_src)
    assert batch['src_len'][row] == len(src)
    tgt_in, tgt_out, weight = np.zeros(T, np.int32), np.zeros(T, np.int32), np.zeros(T, np.float32)
    if tgt is not None:
      seq_in = [parallel.BOS_ID] + list(tgt)
      seq_out = list(tgt) + [parallel.EOS_ID]
      tgt_in[:len(seq_in)], tgt_out[:len(seq_out)], weight[:len(seq_out)] = seq_in, seq_out, 1
      real.append(i)
    np.testing.assert_array_equal(batch['tgt_in'][row], tgt_in)
    np.testing.assert_array_equal(batch['tgt_out'][row], tgt_out)
    np.testing.assert_array_equal(batch['weight'][row], weight)
    assert batch['tgt_len'][row] == weight.sum()
  assert {k: v.dtype for k, v in batch.items()} == {
      'src': np.int32, 'src_len': np.int32, 'tgt_in': np.int32, 'tgt_out': np.int32,
      'tgt_len': np.int32, 'weight': np.float32, 'index': np.int32}
  return real


def test_each_epoch_batches_every_pair_once_as_a_naive_construction_would():
  src_ids, tgt_ids = _random_ids(103, 0, empty_every=17), _random_ids(103, 1, empty_every=13)
  batcher = parallel.train_batcher(src_ids, tgt_ids, batch_size=8, seed=0, pool_batches=3)
  assert batcher.steps_per_epoch == 4 * 3 + 1  # Four pools of 24, then 7 pairs in one short batch.
  orders = []
  for epoch in range(2):
    seen, sizes = [], []
    for _ in range(batcher.steps_per_epoch):
      real = _check_rows(next(batcher), src_ids, tgt_ids, 8)
      seen += real
      sizes.append(len(real))
    assert sorted(seen) == list(range(103))
    assert sorted(sizes) == [7] + [8] * 12
    assert batcher.state() == {'epoch': epoch + 1, 'index': 0}
    orders.append(seen)
  assert orders[0] != orders[1]


def test_batches_depend_on_seed_and_epoch_and_resume_exactly():
  src_ids, tgt_ids = _random_ids(90, 0), _random_ids(90, 1)

  def indices(batcher, steps):
    return [next(batcher)['index'].tolist() for _ in range(steps)]
  make = lambda seed: parallel.train_batcher(src_ids, tgt_ids, batch_size=8, seed=seed, pool_batches=4)
  steps = make(0).steps_per_epoch
  assert steps == 12
  first = indices(make(0), 2 * steps)
  assert indices(make(0), 2 * steps) == first
  assert indices(make(1), steps) != first[:steps]
  assert first[steps:] != first[:steps]
  # Epoch 1 alone, from a batcher restored there, is the second half.
  restored = make(0)
  restored.restore({'epoch': 1, 'index': 0})
  assert indices(restored, steps) == first[steps:]
  # Interrupted mid-epoch, then resumed by a fresh batcher: every key of every batch equal.
  a = make(0)
  indices(a, 17)
  b = make(0)
  b.restore(json.loads(json.dumps(a.state())))  # The state survives a round trip through text.
  for _ in range(2 * steps):
    batch_a, batch_b = next(a), next(b)
    for key in batch_a:
      np.testing.assert_array_equal(batch_a[key], batch_b[key])


def _padding_fraction(batches):
  real = sum(b['src_len'].sum() + b['tgt_len'].sum() for b in batches)
  cells = sum(b['src'].size + b['tgt_in'].size for b in batches)
  return 1 - real / cells


def test_length_grouping_cuts_padding():
  rng = np.random.default_rng(0)
  src_len = rng.integers(1, 60, size=800)
  tgt_len = np.maximum(1, src_len + rng.integers(-4, 5, size=800))  # Translations track their source.
  src_ids = [np.full(n, 5, np.int32) for n in src_len]
  tgt_ids = [np.full(n, 6, np.int32) for n in tgt_len]
  batcher = parallel.train_batcher(src_ids, tgt_ids, batch_size=16, seed=0, pool_batches=10)
  grouped = _padding_fraction([next(batcher) for _ in range(batcher.steps_per_epoch)])
  # The same batch sizes with no length grouping: consecutive runs of a permutation.
  order = rng.permutation(800)
  unsorted = _padding_fraction([parallel.make_batch(src_ids, tgt_ids, order[i:i + 16], 16, 8)
                                for i in range(0, 800, 16)])
  assert unsorted > 0.3
  assert grouped < unsorted / 2


def test_eval_batches_cover_each_pair_once_sorted_by_source_length():
  src_ids, tgt_ids = _random_ids(45, 2, empty_every=11), _random_ids(45, 3)
  batches = list(parallel.eval_batches(src_ids, tgt_ids, batch_size=8))
  assert len(batches) == 6
  index = np.concatenate([b['index'] for b in batches])
  assert (index[45:] == -1).all()
  assert sorted(index[:45].tolist()) == list(range(45))
  for batch in batches:
    _check_rows(batch, src_ids, tgt_ids, 8)
  src_len = np.concatenate([b['src_len'] for b in batches])[:45]
  assert (np.diff(src_len) >= 0).all() and src_len[-1] > src_len[0]
  # Outputs put back in corpus order by 'index' rebuild the corpus.
  restored = [None] * 45
  for batch in batches:
    for row, i in enumerate(batch['index']):
      if i >= 0:
        restored[i] = batch['src'][row, :batch['src_len'][row]]
  for got, want in zip(restored, src_ids):
    np.testing.assert_array_equal(got, want)
  assert list(parallel.eval_batches([], [], batch_size=8)) == []
