"""Language-model data: corpus splits, tokenizers and stream batching against independent references.

Tiny Shakespeare tests read $SEQLAB_DATA_DIR and skip when it is unset or lacks the file.
"""
import json
import os

import ml_collections
import numpy as np
import pytest

from data import corpus
from data import lm_batching
from data import tokenizers

SHAKESPEARE = 'tinyshakespeare/input.txt'


@pytest.fixture(scope='module')
def shakespeare():
  data_dir = os.environ.get('SEQLAB_DATA_DIR', '')
  if not data_dir or not os.path.exists(os.path.join(data_dir, SHAKESPEARE)):
    pytest.skip(f'SEQLAB_DATA_DIR is unset or lacks {SHAKESPEARE}.')
  return corpus.load_text(data_dir, SHAKESPEARE)


def _generated_text(num_lines=150, seed=0):
  """A few KB of line-structured text with the whitespace cases a tokenizer can get wrong."""
  rng = np.random.default_rng(seed)
  syllables = 'th an er on re in ed nd ha at en es of or nt ea ti to it st io le is ou ar'.split()
  # 300 made-up words, drawn with Zipf-like frequencies, so subwords have something to learn.
  words = [''.join(rng.choice(syllables, size=rng.integers(1, 4))) for _ in range(300)]
  words[:6] = ['Lord,', 'KING:', 'O!', 'thee;', 'What?', "'tis"]
  probs = 1 / np.arange(1, 301)
  lines = []
  for i in range(num_lines):
    line = ' '.join(rng.choice(words, size=rng.integers(0, 12), p=probs / probs.sum()))
    if i % 7 == 3:
      line = '  ' + line  # Leading spaces.
    if i % 11 == 5:
      line = line.replace(' ', '   ', 1) + ' '  # Runs of spaces and a trailing one.
    lines.append(line)
  return '\n'.join(lines) + '\n'


# Corpus splits.

@pytest.mark.parametrize('length, sizes', [(1000, (900, 50, 50)), (1001, (900, 50, 51)), (7, (6, 0, 1))])
def test_charrnn_split_is_contiguous_90_5_5(length, sizes):
  text = ''.join(chr(0x41 + i % 50) for i in range(length))
  splits = corpus.split_text(text, 'charrnn')
  assert tuple(len(splits[k]) for k in ('train', 'valid', 'test')) == sizes
  assert splits['train'] + splits['valid'] + splits['test'] == text


@pytest.mark.parametrize('length, train_size', [(1000, 900), (1001, 900), (19, 17)])
def test_nanogpt_split_has_test_equal_to_valid(length, train_size):
  text = ''.join(chr(0x41 + i % 50) for i in range(length))
  splits = corpus.split_text(text, 'nanogpt')
  assert len(splits['train']) == train_size
  assert splits['train'] + splits['valid'] == text
  assert splits['test'] == splits['valid']


def test_tiny_shakespeare_splits_match_published_sizes(shakespeare):
  assert len(shakespeare) == 1115394 and shakespeare.startswith('First Citizen:\n')
  # nanoGPT's shakespeare_char/prepare.py reports 1,003,854 train and 111,540 val characters.
  nanogpt = corpus.split_text(shakespeare, 'nanogpt')
  assert (len(nanogpt['train']), len(nanogpt['valid']), len(nanogpt['test'])) == (1003854, 111540, 111540)
  charrnn = corpus.split_text(shakespeare, 'charrnn')
  assert (len(charrnn['train']), len(charrnn['valid']), len(charrnn['test'])) == (1003854, 55770, 55770)
  assert charrnn['valid'] + charrnn['test'] == nanogpt['valid']
  assert shakespeare.endswith(charrnn['test'])


def test_load_corpus_reads_the_file_as_stored(tmp_path):
  (tmp_path / 'tinyshakespeare').mkdir()
  text = 'Ångström\r\nnaïve ' * 50  # Non-ASCII and CRLF must survive: 800 characters.
  (tmp_path / SHAKESPEARE).write_bytes(text.encode('utf-8'))
  config = ml_collections.ConfigDict(dict(name='tinyshakespeare', dir=str(tmp_path), split='charrnn'))
  splits = corpus.load_corpus(config)
  assert splits == {'train': text[:720], 'valid': text[720:760], 'test': text[760:]}


def test_corpus_errors_name_the_choices(tmp_path):
  def config(name):
    return ml_collections.ConfigDict(dict(name=name, dir=str(tmp_path), split='nanogpt'))
  with pytest.raises(FileNotFoundError, match=r"'tinyshakespeare/input.txt'"):
    corpus.load_corpus(config('tinyshakespeare'))
  with pytest.raises(ValueError, match=r"'ptb'.*tinyshakespeare"):
    corpus.load_corpus(config('ptb'))
  with pytest.raises(ValueError, match=r"'random'.*charrnn, nanogpt"):
    corpus.split_text('abc', 'random')


# Tokenizers.

def test_char_tokenizer_ids_follow_the_sorted_characters(tmp_path):
  tok = tokenizers.build_tokenizer('char', 'hello, world\n')
  chars = sorted(set('hello, world\n'))
  assert tok.vocab_size == len(chars) + 1 and tok.special_ids == {'unk': 0}
  text = 'low\nrod, hello'
  ids = tok.encode(text)
  assert ids.dtype == np.int32
  assert ids.tolist() == [chars.index(c) + 1 for c in text]
  assert tok.decode(ids) == text
  # Unseen characters (even beyond the BMP) are <unk>, and decode to one U+FFFD each.
  ids = tok.encode('hé😀o')
  assert ids.tolist() == [chars.index('h') + 1, 0, 0, chars.index('o') + 1]
  assert tok.decode(ids) == 'h\ufffd\ufffdo'
  tok.save(str(tmp_path))
  restored = tokenizers.load(str(tmp_path))
  assert isinstance(restored, tokenizers.CharTokenizer)
  assert restored.encode(text + 'é').tolist() == tok.encode(text + 'é').tolist()


def test_word_vocabulary_keeps_the_most_frequent_words_ties_by_word(tmp_path):
  text = 'b a c b\nd c a b\n'  # b: 3, a: 2, c: 2, d: 1.
  tok = tokenizers.build_tokenizer('word', text, vocab_size=4)
  assert tok.vocab == ['<unk>', '<eos>', 'b', 'a']
  assert tok.vocab_size == 4 and tok.special_ids == {'unk': 0, 'eos': 1}
  assert tok.encode(text).tolist() == [2, 3, 0, 2, 1, 0, 0, 3, 2, 1]
  assert tok.decode(tok.encode(text)) == 'b a <unk> b\n<unk> <unk> a b\n'
  uncapped = tokenizers.build_tokenizer('word', text)
  assert uncapped.vocab == ['<unk>', '<eos>', 'b', 'a', 'c', 'd']
  assert uncapped.decode(uncapped.encode(text)) == text
  tok.save(str(tmp_path))
  assert tokenizers.load(str(tmp_path)).encode('d a b').tolist() == [0, 3, 2]


def test_word_tokenizer_rebuilds_lines_and_lowercases():
  tok = tokenizers.build_tokenizer('word', 'The cat\nthe DOG <unk>\n', lowercase=True)
  assert tok.vocab == ['<unk>', '<eos>', 'the', 'cat', 'dog']  # A literal <unk> is not a word.
  ids = tok.encode('  THE  dog\n\ncat <unk> fish')
  assert ids.tolist() == [2, 4, 1, 1, 3, 0, 0]
  assert tok.decode(ids) == 'the dog\n\ncat <unk> <unk>'


def test_word_tokenizer_of_sentences_has_no_eos_and_reads_old_files(tmp_path):
  """newline=False (one sentence per text): a newline is whitespace like any other, and there is no <eos>."""
  tok = tokenizers.build_tokenizer('word', 'b a c b\nd c a b\n<eos> <unk>', vocab_size=3, newline=False)
  assert tok.vocab == ['<unk>', 'b', 'a'] and tok.special_ids == {'unk': 0}
  assert tok.encode('b  a\nc').tolist() == [1, 2, 0]
  assert tok.decode(tok.encode('b  a\nc')) == 'b a <unk>'
  tok.save(str(tmp_path))
  restored = tokenizers.load(str(tmp_path))
  assert not restored.newline and restored.vocab == tok.vocab
  # A tokenizer.json written before the option existed is a line tokenizer, as then.
  config_path = tmp_path / tokenizers.CONFIG_FILE
  data = json.loads(config_path.read_text())
  del data['newline']
  data['words'] = ['b', 'a']
  config_path.write_text(json.dumps(data))
  old = tokenizers.load(str(tmp_path))
  assert old.newline and old.vocab == ['<unk>', '<eos>', 'b', 'a'] and old.encode('b\na').tolist() == [2, 1, 3]
  with pytest.raises(ValueError, match='newline applies to the word tokenizer only'):
    tokenizers.build_tokenizer('char', 'abc', newline=False)
  with pytest.raises(ValueError, match=r'vocab_size >= 2 \(<unk> and a word\)'):
    tokenizers.build_tokenizer('word', 'a b', vocab_size=1, newline=False)


@pytest.mark.parametrize('reserved', [('pad', 'bos', 'eos'), ('pad', 'unk', 'cls', 'mask'), ('unk', 'eos')])
def test_vocabulary_puts_the_reserved_ids_first_and_the_tokenizer_after_them(reserved):
  tok = tokenizers.build_tokenizer('word', 'b a c b\nd c a b\n')  # <unk>, <eos>, b, a, c, d.
  vocab = tokenizers.Vocabulary(tok, reserved)
  # Written out: the reserved roles, then the tokenizer's ids in order, its <unk> at a reserved 'unk'.
  table = list(reserved) + [word for word in tok.vocab if not (word == '<unk>' and 'unk' in reserved)]
  unk = table.index('unk' if 'unk' in reserved else '<unk>')
  assert vocab.vocab_size == len(table) and vocab.num_reserved == len(reserved)
  assert vocab.ids == {role: table.index(role) for role in reserved}
  text = 'a zzz d\nb'
  assert vocab.encode(text).tolist() == [table.index('a'), unk, table.index('d'), table.index('<eos>'),
                                         table.index('b')]
  assert vocab.encode(text).dtype == np.int32
  # Decoding skips the reserved ids (but unk) and, where one is reserved, stops at the first 'eos'.
  ids = [vocab.ids.get('pad', unk), table.index('a'), unk, table.index('b')]
  tail = [vocab.ids['eos'], table.index('c')] if 'eos' in reserved else []
  assert vocab.decode(np.array(ids + tail)) == ('a <unk> b' if 'pad' in reserved else '<unk> a <unk> b')
  with pytest.raises(ValueError, match='distinct'):
    tokenizers.Vocabulary(tok, ('pad', 'pad'))


def test_word_tokenizer_round_trips_normalized_shakespeare(shakespeare):
  tok = tokenizers.build_tokenizer('word', shakespeare)
  ids = tok.encode(shakespeare)
  assert (ids == 1).sum() == shakespeare.count('\n')
  normalized = '\n'.join(' '.join(line.split()) for line in shakespeare.split('\n'))
  assert tok.decode(ids) == normalized


def test_char_tokenizer_round_trips_shakespeare(shakespeare):
  splits = corpus.split_text(shakespeare, 'nanogpt')
  tok = tokenizers.build_tokenizer('char', splits['train'])
  assert tok.vocab_size == 65 + 1  # nanoGPT's 65 characters plus <unk>.
  ids = tok.encode(shakespeare)
  assert ids.min() > 0
  assert tok.decode(ids) == shakespeare


@pytest.mark.parametrize('kind', ['bpe', 'unigram'])
def test_sentencepiece_round_trips_and_is_deterministic(kind, tmp_path):
  text = _generated_text()
  tok = tokenizers.build_tokenizer(kind, text, vocab_size=120)
  assert tok.vocab_size == 120 and tok.special_ids == {'unk': 0, 'newline': 1}
  ids = tok.encode(text)
  assert ids.dtype == np.int32 and ids.min() >= 0 and ids.max() < 120
  assert len(ids) < 0.6 * len(text)  # Pieces are longer than characters on average.
  assert (ids == 1).sum() == text.count('\n')
  assert tok.decode(ids) == text
  other = _generated_text(num_lines=20, seed=1)  # Unseen lines, seen characters.
  assert tok.decode(tok.encode(other)) == other
  assert tok.decode(tok.encode('')) == '' and tok.decode(tok.encode('\n\n')) == '\n\n'
  again = tokenizers.build_tokenizer(kind, text, vocab_size=120)
  assert again.model_proto == tok.model_proto
  np.testing.assert_array_equal(again.encode(other), tok.encode(other))
  tok.save(str(tmp_path))
  assert sorted(os.listdir(tmp_path)) == ['sentencepiece.model', 'tokenizer.json']
  restored = tokenizers.load(str(tmp_path))
  assert isinstance(restored, tokenizers.SentencePieceTokenizer) and restored.kind == kind
  np.testing.assert_array_equal(restored.encode(other), tok.encode(other))


def test_sentencepiece_unknown_characters_and_byte_fallback():
  text = _generated_text()
  plain = tokenizers.build_tokenizer('bpe', text, vocab_size=120)
  ids = plain.encode('thé king')
  assert 0 in ids.tolist() and plain.decode(ids) != 'thé king'
  fallback = tokenizers.build_tokenizer('bpe', text, vocab_size=400, byte_fallback=True)
  ids = fallback.encode('thé king\nÅ')
  assert 0 not in ids.tolist()
  assert fallback.decode(ids) == 'thé king\nÅ'


@pytest.mark.parametrize('kind', ['bpe', 'unigram'])
def test_sentencepiece_round_trips_shakespeare(kind, shakespeare):
  splits = corpus.split_text(shakespeare, 'nanogpt')
  tok = tokenizers.build_tokenizer(kind, splits['train'], vocab_size=1000)
  assert tok.vocab_size == 1000
  ids = tok.encode(shakespeare)
  assert 0 not in ids.tolist()
  assert len(ids) < len(shakespeare) / 2
  assert tok.decode(ids) == shakespeare


def test_tokenizer_errors_name_the_choices(tmp_path):
  with pytest.raises(ValueError, match=r"'gpt2'.*char, word, bpe, unigram"):
    tokenizers.build_tokenizer('gpt2', 'abc')
  with pytest.raises(ValueError, match='vocab_size=0'):
    tokenizers.build_tokenizer('char', 'abc', vocab_size=100)
  with pytest.raises(ValueError, match='vocab_size > 0'):
    tokenizers.build_tokenizer('unigram', 'abc')
  with pytest.raises(ValueError, match='lowercase'):
    tokenizers.build_tokenizer('char', 'abc', lowercase=True)
  with pytest.raises(FileNotFoundError, match='tokenizer.json'):
    tokenizers.load(str(tmp_path))


# Batching. Streams of distinct values (arange) make a value its own position.

def test_stream_rows_are_contiguous_and_targets_shifted():
  n, batch_size, seq_len = 103, 4, 6  # 25 tokens a row: 24 targets, windows of 6 x 4.
  batcher = lm_batching.StreamBatcher(np.arange(n), batch_size, seq_len)
  assert batcher.steps_per_epoch == 4
  batches = [next(batcher) for _ in range(4)]
  # Zaremba et al.'s layout: row r is the stream's tokens [25 r, 25 r + 25).
  np.testing.assert_array_equal(batches[0]['inputs'][:, 0], [0, 25, 50, 75])
  for b in batches:
    assert b['inputs'].shape == (4, 6) and b['inputs'].dtype == np.int32
    assert b['weight'].dtype == np.float32 and b['weight'].all()
    np.testing.assert_array_equal(b['targets'], b['inputs'] + 1)
  for before, after in zip(batches, batches[1:]):
    np.testing.assert_array_equal(after['inputs'][:, 0], before['targets'][:, -1])
  assert [bool(b['reset']) for b in batches] == [True, False, False, False]
  rows = np.concatenate([b['inputs'] for b in batches], axis=1)
  np.testing.assert_array_equal(rows, 25 * np.arange(4)[:, None] + np.arange(24))
  assert bool(next(batcher)['reset']) and batcher.state() == {'epoch': 1, 'index': 1}


@pytest.mark.parametrize('n, last', [(65, 5), (71, 2), (68, 1), (69, 2)])
def test_stream_last_window_is_padded_with_zero_weight(n, last):
  batcher = lm_batching.StreamBatcher(np.arange(n), 3, 5)
  row_len = n // 3  # The remainder (n % 3 tokens) is dropped.
  assert batcher.steps_per_epoch == -(-(row_len - 1) // 5)
  for _ in range(batcher.steps_per_epoch - 1):
    assert next(batcher)['weight'].all()
  final = next(batcher)
  assert final['inputs'].shape == (3, 5)
  assert final['weight'].sum(axis=1).tolist() == [last] * 3
  assert not final['weight'][:, last:].any()
  assert not final['inputs'][:, last:].any() and not final['targets'][:, last:].any()
  np.testing.assert_array_equal(final['targets'][:, :last], final['inputs'][:, :last] + 1)
  # The last real target of each row is its row's last token.
  np.testing.assert_array_equal(final['targets'][:, last - 1], row_len * np.arange(1, 4) - 1)
  assert bool(next(batcher)['reset'])


def test_stream_batches_of_tokens_are_the_tokens_at_their_positions():
  values = np.random.default_rng(0).integers(0, 50, size=70)
  by_position = lm_batching.StreamBatcher(np.arange(70), 3, 4)
  by_value = lm_batching.StreamBatcher(values, 3, 4)
  for _ in range(2 * by_position.steps_per_epoch + 1):
    positions, tokens = next(by_position), next(by_value)
    for key in ('inputs', 'targets'):
      real = positions['weight'] > 0
      np.testing.assert_array_equal(tokens[key][real], values[positions[key][real]])


def test_stream_restore_reproduces_the_following_batches():
  ids = np.random.default_rng(1).integers(0, 100, size=500)
  a = lm_batching.StreamBatcher(ids, 4, 7)
  for _ in range(a.steps_per_epoch + 5):
    next(a)
  b = lm_batching.StreamBatcher(ids, 4, 7)
  b.restore(dict(a.state()))
  for _ in range(2 * a.steps_per_epoch):
    x, y = next(a), next(b)
    for key in x:
      np.testing.assert_array_equal(x[key], y[key])


@pytest.mark.parametrize('n, batch_size, seq_len',
                         [(101, 4, 5), (100, 4, 5), (97, 8, 3), (10, 16, 4), (2, 1, 1)])
def test_eval_stream_scores_every_target_once(n, batch_size, seq_len):
  values = np.random.default_rng(n).integers(0, 30, size=n)
  layouts = []
  for ids in (np.arange(n), values):
    batches = list(lm_batching.eval_stream_batches(ids, batch_size, seq_len))
    assert [bool(b['reset']) for b in batches] == [True] + [False] * (len(batches) - 1)
    assert all(b['inputs'].shape == (batch_size, seq_len) for b in batches)
    weight = np.concatenate([b['weight'] for b in batches], axis=1)
    assert weight.sum() == n - 1
    real = weight > 0
    targets = np.concatenate([b['targets'] for b in batches], axis=1)
    inputs = np.concatenate([b['inputs'] for b in batches], axis=1)
    # Row-major over (row, time), the weighted targets are the stream's targets in order.
    np.testing.assert_array_equal(targets[real], ids[1:])
    np.testing.assert_array_equal(inputs[real], ids[:-1])
    layouts.append(real)
  np.testing.assert_array_equal(layouts[0], layouts[1])


def test_random_windows_depend_on_seed_and_step_only():
  ids = np.random.default_rng(2).integers(0, 100, size=300)
  a = lm_batching.RandomWindowBatcher(ids, 8, 16, seed=5)
  assert a.steps_per_epoch == 299 // 128
  first = [next(a) for _ in range(6)]
  b = lm_batching.RandomWindowBatcher(ids, 8, 16, seed=5)
  b.restore({'step': 3})
  for expected in first[3:]:
    got = next(b)
    for key in expected:
      np.testing.assert_array_equal(got[key], expected[key])
  assert a.state() == {'step': 6}
  other = lm_batching.RandomWindowBatcher(ids, 8, 16, seed=6)
  assert not np.array_equal(next(other)['inputs'], first[0]['inputs'])
  assert not np.array_equal(first[0]['inputs'], first[1]['inputs'])


def test_random_windows_are_shifted_and_reach_both_ends():
  n, seq_len = 20, 5
  batcher = lm_batching.RandomWindowBatcher(np.arange(n), 4, seq_len, seed=0)
  starts = set()
  for _ in range(100):
    batch = next(batcher)
    assert bool(batch['reset']) and batch['weight'].all() and batch['inputs'].dtype == np.int32
    np.testing.assert_array_equal(batch['inputs'], batch['inputs'][:, :1] + np.arange(seq_len))
    np.testing.assert_array_equal(batch['targets'], batch['inputs'] + 1)
    starts.update(batch['inputs'][:, 0].tolist())
  # Every window that fits, the last one predicting the final token, and no other.
  assert starts == set(range(n - seq_len))


def test_batchers_reject_too_short_streams():
  with pytest.raises(ValueError, match='at least 8'):
    lm_batching.StreamBatcher(np.arange(7), 4, 3)
  with pytest.raises(ValueError, match='at least 17'):
    lm_batching.RandomWindowBatcher(np.arange(16), 2, 16, seed=0)
  with pytest.raises(ValueError, match='integer'):
    list(lm_batching.eval_stream_batches(np.zeros(5, np.float32), 2, 2))
