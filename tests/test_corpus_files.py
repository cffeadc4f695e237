"""Language models on any text: data.name=files, the memory-mapped token cache and its errors.

References: the text read whole with Python (corpus order, newlines between files), the tokenizer
applied to that whole text, and the batches of an in-memory int32 copy of the tokens.
"""
import gzip
import mmap
import os
import subprocess
import sys

import ml_collections
import numpy as np
import pytest

from data import corpus
from data import lm_batching
from data import token_cache
from data import tokenizers
from training import config_loading
from training import loop


def _lines(n, seed=0):
  rng = np.random.default_rng(seed)
  words = ['the', 'Königin', 'ran', 'far', 'über', 'ÿes', '😀', 'a,', 'b.', 'x']
  return [' '.join(rng.choice(words, size=rng.integers(0, 9))) for _ in range(n)]


def _data_config(**fields):
  base = dict(name='files', dir='', train_path='', valid_path='', test_path='', split='charrnn', max_chars=0)
  return ml_collections.ConfigDict(dict(base, **fields))


@pytest.mark.parametrize('kind, vocab_size', [('char', 0), ('word', 0), ('bpe', 60), ('unigram', 30)])
def test_every_tokenizer_encodes_lines_apart(kind, vocab_size):
  # The token cache encodes a text chunk by chunk, cut after newlines: this identity makes that exact.
  text = '\n'.join(_lines(80)) + '\n'
  tokenizer = tokenizers.build_tokenizer(kind, text, vocab_size=vocab_size)
  for a, b in [('the ran', 'far über'), ('', 'x'), ('a,  b.', ''), ('😀 Königin\r', ' ÿes')]:
    joined = np.concatenate([tokenizer.encode(a), tokenizer.encode('\n'), tokenizer.encode(b)])
    assert tokenizer.encode(a + '\n' + b).tolist() == joined.tolist(), (a, b)


@pytest.mark.parametrize('kind, vocab_size', [('char', 0), ('word', 0), ('bpe', 60)])
def test_cached_tokens_equal_the_whole_text_encoded(tmp_path, monkeypatch, kind, vocab_size):
  monkeypatch.setattr(corpus, '_BLOCK_BYTES', 64)  # Many chunks, cut inside lines and characters.
  text = '\n'.join(_lines(300)) + '\n'
  path = tmp_path / 'text.txt'
  path.write_text(text, encoding='utf-8')
  tokenizer = tokenizers.build_tokenizer(kind, text, vocab_size=vocab_size)
  splits = corpus.splits(_data_config(train_path=str(path)))
  expected = corpus.split_text(text, 'charrnn')
  for part, split in splits.items():
    stream = token_cache.tokenize(split, tokenizer, str(tmp_path / 'cache'))
    assert lm_batching.memory_map(stream.ids) is not None and stream.ids.dtype == np.uint16
    assert stream.ids.tolist() == tokenizer.encode(expected[part]).tolist()
    assert stream.num_chars == len(expected[part])


def test_globs_comma_lists_and_gz_read_as_one_text(tmp_path):
  texts = {'b.txt': 'bravo\ncharlie', 'a.txt.gz': 'alpha\n', 'c.txt': 'delta'}
  for name, text in texts.items():
    if name.endswith('.gz'):
      with gzip.open(tmp_path / name, 'wt', encoding='utf-8') as f:
        f.write(text)
    else:
      (tmp_path / name).write_text(text)
  config = _data_config(train_path=f'{tmp_path}/[ab].txt*', valid_path=str(tmp_path / 'c.txt'))
  text = corpus.load_corpus(config)
  # Sorted glob matches; a newline ends a file that lacks one when another follows; test is valid.
  assert text == {'train': 'alpha\nbravo\ncharlie', 'valid': 'delta', 'test': 'delta'}
  config = _data_config(train_path=f'{tmp_path / "c.txt"}, {tmp_path / "a.txt.gz"}', valid_path=str(tmp_path / 'c.txt'),
                        test_path=str(tmp_path / 'b.txt'))
  assert corpus.load_corpus(config) == {'train': 'delta\nalpha\n', 'valid': 'delta', 'test': 'bravo\ncharlie'}


@pytest.mark.parametrize('split, sizes', [('0.8,0.1,0.1', (800, 100, 100)), ('98,1,1', (980, 10, 10)),
                                          ('1,0,1', (500, 0, 500)), ('charrnn', (900, 50, 50))])
def test_fractions_cut_the_characters(tmp_path, split, sizes):
  text = ''.join(chr(0x41 + i % 40) if i % 13 else 'é' for i in range(1000))
  (tmp_path / 't.txt').write_text(text)
  parts = corpus.load_corpus(_data_config(train_path=str(tmp_path / 't.txt'), split=split))
  assert tuple(len(parts[k]) for k in ('train', 'valid', 'test')) == sizes
  assert parts['train'] + parts['valid'] + parts['test'] == text


def test_the_cache_is_reused_until_a_source_or_the_tokenizer_changes(tmp_path, monkeypatch):
  path = tmp_path / 'text.txt'
  path.write_text('one two\nthree\n' * 20)
  cache = str(tmp_path / 'cache')
  tokenizer = tokenizers.build_tokenizer('char', path.read_text())
  writes = []
  write = token_cache._write
  monkeypatch.setattr(token_cache, '_write', lambda *args: writes.append(args[0].name) or write(*args))

  def train_tokens(tok):
    return token_cache.tokenize(corpus.splits(_data_config(train_path=str(path)))['train'], tok, cache,
                                prune=True).ids.tolist()
  first = train_tokens(tokenizer)
  assert train_tokens(tokenizer) == first and writes == ['train']
  path.write_text('one tw0\nthree\n' + 'one two\nthree\n' * 19)  # Same size, other bytes.
  changed = train_tokens(tokenizer)
  assert writes == ['train', 'train'] and changed != first
  assert changed == tokenizer.encode(corpus.split_text(path.read_text(), 'charrnn')['train']).tolist()
  other = tokenizers.build_tokenizer('char', 'one two\nthree\n0')
  assert train_tokens(other) != changed and writes == ['train'] * 3
  # prune: one version of the split is kept.
  assert len([f for f in os.listdir(cache) if f.endswith('.tokens')]) == 1
  # A half-written file (no .json beside it, or a wrong size) is never trusted.
  stream = token_cache.tokenize(corpus.splits(_data_config(train_path=str(path)))['train'], other, cache)
  with open(stream.path, 'ab') as f:
    f.write(b'\0\0')
  assert train_tokens(other) == stream.ids.tolist() and writes == ['train'] * 4


def test_memmap_windows_equal_in_memory_windows(tmp_path):
  ids = np.random.default_rng(0).integers(0, 3000, size=5003).astype(np.uint16)
  ids.tofile(tmp_path / 'ids')
  with open(tmp_path / 'ids', 'rb') as f:
    mapped = np.frombuffer(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), np.uint16)
  in_memory = ids.astype(np.int32)

  def same(a, b):
    for x, y in zip(a, b):
      assert x.keys() == y.keys()
      for key in x:
        assert x[key].dtype == y[key].dtype and np.array_equal(x[key], y[key]), key
  stream_a, stream_b = lm_batching.StreamBatcher(mapped, 7, 33), lm_batching.StreamBatcher(in_memory, 7, 33)
  same([next(stream_a) for _ in range(30)], [next(stream_b) for _ in range(30)])
  random_a = lm_batching.RandomWindowBatcher(mapped, 5, 17, seed=3)
  random_b = lm_batching.RandomWindowBatcher(in_memory, 5, 17, seed=3)
  same([next(random_a) for _ in range(10)], [next(random_b) for _ in range(10)])
  same(lm_batching.eval_stream_batches(mapped, 6, 40), lm_batching.eval_stream_batches(in_memory, 6, 40))
  assert lm_batching.memory_map(stream_a._inputs_BL) is not None  # Its rows view the map: nothing was copied.
  assert next(random_a)['inputs'].dtype == np.int32


def _gpt(tmp_path, **overrides):
  config = config_loading.load_config('configs/charlm/gpt.py:tiny')
  return config_loading.apply_overrides(config, dict({'log.progress_bar': False, 'data.name': 'files'}, **overrides))


def test_gpt_trains_on_a_gz_file_and_resumes_from_its_token_cache(tmp_path):
  with gzip.open(tmp_path / 'corpus.txt.gz', 'wt', encoding='utf-8') as f:
    f.write('\n'.join(_lines(400)) + '\n')
  config = _gpt(tmp_path, **{'data.train_path': str(tmp_path / 'corpus.txt.gz'), 'data.split': '0.9,0.05,0.05',
                             'train.num_steps': 4, 'eval.every_steps': 4})
  results = loop.train_and_evaluate(config, str(tmp_path / 'run'))
  assert np.isfinite(results['valid/loss'])
  cached = sorted(os.listdir(tmp_path / 'run' / 'tokens'))
  assert [f.split('-')[0] for f in cached] == ['test', 'test', 'train', 'train', 'valid', 'valid']
  longer = config_loading.apply_overrides(config, {'train.num_steps': 8})
  loop.train_and_evaluate(longer, str(tmp_path / 'run'), config_change='allow')
  assert sorted(os.listdir(tmp_path / 'run' / 'tokens')) == cached


def _train(tmp_path, *args):
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  return subprocess.run([sys.executable, os.path.join(config_loading.REPO_ROOT, 'train.py'),
                         '--config=' + os.path.join(config_loading.REPO_ROOT, 'configs/charlm/gpt.py') + ':tiny',
                         f'--workdir={tmp_path / "w"}', '--config.data.name=files', *args],
                        env=env, capture_output=True, text=True, timeout=120)


def test_bad_files_stop_the_run_in_one_line_before_compiling(tmp_path):
  (tmp_path / 'empty.txt').write_text('')
  (tmp_path / 'latin1.txt').write_bytes('good line\n'.encode() * 3 + 'caf\xe9\n'.encode('latin-1'))
  (tmp_path / 'short.txt').write_text('a few characters\n')
  cases = [
      ([], 'needs data.train_path'),
      ([f'--config.data.train_path={tmp_path / "missing.txt"}'], 'missing.txt'),
      ([f'--config.data.train_path={tmp_path / "*.md"}'], 'matches no file'),
      ([f'--config.data.train_path={tmp_path / "empty.txt"}'], 'holds 0 tokens'),
      ([f'--config.data.train_path={tmp_path / "latin1.txt"}'], 'latin1.txt\' is not UTF-8: byte 33 (line 4)'),
      ([f'--config.data.train_path={tmp_path / "short.txt"}'], 'needs at least 17'),
      ([f'--config.data.train_path={tmp_path / "short.txt"}', '--config.data.split=0.5,x,1'], 'data.split'),
  ]
  for args, expected in cases:
    result = _train(tmp_path, *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (args, result.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith('error: ') and expected in lines[0], (args, lines)
    checkpoints = tmp_path / 'w' / 'checkpoints'
    assert not (checkpoints.exists() and os.listdir(checkpoints))  # Nothing was trained.


DATA_DIR = os.environ.get('SEQLAB_DATA_DIR', '')


@pytest.mark.skipif(not os.path.exists(os.path.join(DATA_DIR, 'imdb', 'unsup.txt.gz')),
                    reason='SEQLAB_DATA_DIR does not hold imdb/')
def test_the_imdb_corpus_is_the_classifier_training_text_and_the_unlabeled_reviews():
  from data import labeled
  config = ml_collections.ConfigDict(dict(name='imdb', dir=DATA_DIR, valid_fraction=0.1))
  text = {part: ''.join(split.chunks()).split('\n') for part, split in corpus.splits(config).items()}
  classifier, _ = labeled.load_labeled(config)
  assert text['train'][-1] == text['valid'][-1] == ''  # Every review ends with a newline.
  train, valid = text['train'][:-1], text['valid'][:-1]
  assert len(train) == len(classifier['train'][0]) + 50_000 and text['test'] == text['valid']
  assert train[:len(classifier['train'][0])] == classifier['train'][0]  # <br /> as spaces, as the classifier reads.
  assert valid == classifier['valid'][0]
  assert not any('<br />' in review for review in train[-50_000:])
