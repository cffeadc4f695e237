"""The language-model input pipeline on a corpus far larger than Tiny Shakespeare.

  python bench/input_pipeline.py [--size_mb=1024] [--steps=50] [--keep=DIR]

Writes a synthetic UTF-8 corpus of --size_mb megabytes (Zipf-distributed made-up words, some of them
non-ASCII, in lines of varying length) to a temporary directory that is deleted afterwards, then:
1. tokenizes it as `train.py --config=configs/charlm/gpt.py --config.data.name=files` would (99.8% train,
   0.1% valid, 0.1% test; the char vocabulary from the first data.tokenizer_sample_chars characters) and
   times it: the one pass that counts the characters, the hashing of the file, and the tokenization into
   the memory-mapped token files, as MB of text per second;
2. times the training batches alone (the random-window loader over the memmap, widened to int32);
3. trains --steps steps of configs/charlm/gpt.py on the corpus with the real loop (it finds the tokens
   cached by 1) and reports the train step's batches/s as the loop logged it after compiling;
and prints peak resident memory of the process (its maximum RSS: corpus text and tokens are read through
blocks and memory maps, so it should not grow with --size_mb).
"""
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
import numpy as np  # noqa: E402

flags.DEFINE_integer('size_mb', 1024, 'Corpus size in MB (2**20 bytes).')
flags.DEFINE_integer('steps', 50, 'Training steps of configs/charlm/gpt.py.')
flags.DEFINE_integer('loader_batches', 2000, 'Batches drawn when timing the loader alone.')
flags.DEFINE_string('keep', '', 'Work here and keep the corpus and the run (default: a deleted temporary dir).')
FLAGS = flags.FLAGS

_BLOCK_LINES = 200_000  # About 13 MB of text per generated block.


def _peak_rss_mb() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KB.


def write_corpus(path: str, size_bytes: int, seed: int = 0) -> int:
  """Writes about size_bytes of text (whole lines) to path; returns the bytes written."""
  rng = np.random.default_rng(seed)
  letters = list('abcdefghijklmnopqrstuvwxyzéàöß')
  vocab = np.array([''.join(rng.choice(letters, size=rng.integers(1, 10))) for _ in range(20_000)], dtype=object)
  zipf = 1 / np.arange(1, len(vocab) + 1)
  zipf /= zipf.sum()
  # One block of lines, rotated by a random number of lines per write, so blocks differ at little cost.
  words = vocab[rng.choice(len(vocab), size=_BLOCK_LINES * 12, p=zipf)]
  cuts = np.cumsum(rng.integers(1, 24, size=_BLOCK_LINES))
  lines = [' '.join(line) for line in np.split(words, cuts[cuts < len(words)])]
  written = 0
  with open(path, 'wb') as f:
    while written < size_bytes:
      shift = int(rng.integers(len(lines)))
      block = ('\n'.join(lines[shift:] + lines[:shift]) + '\n').encode('utf-8')
      block = block[:size_bytes - written]
      block = block[:block.rfind(b'\n') + 1] or block  # Whole lines (but for a tiny corpus).
      f.write(block)
      written += len(block)
  return written


def _write_in_child(path: str, size_bytes: int) -> int:
  """write_corpus in a child process, so the generator's memory is not counted in this one's peak RSS."""
  with multiprocessing.get_context('fork').Pool(1) as pool:  # Forked before jax starts its threads.
    return pool.apply(write_corpus, (path, size_bytes))


def main(argv):
  del argv
  root = FLAGS.keep or tempfile.mkdtemp(prefix='seqlab_input_pipeline_')
  os.makedirs(root, exist_ok=True)
  path = os.path.join(root, 'corpus.txt')
  start = time.perf_counter()
  size = _write_in_child(path, FLAGS.size_mb << 20)
  print(f'corpus: {size / 2**20:,.0f} MB written in {time.perf_counter() - start:.1f} s ({path})')
  from data import corpus
  from data import token_cache
  from data import tokenizers
  import tasks
  from training import config_loading
  from training import loop

  print(f'peak RSS after imports: {_peak_rss_mb():,.0f} MB')
  try:
    config = config_loading.apply_overrides(config_loading.load_config(os.path.join(ROOT, 'configs/charlm/gpt.py')), {
        'data.name': 'files', 'data.train_path': path, 'data.split': '0.998,0.001,0.001',
        'data.cache_dir': os.path.join(root, 'tokens'), 'train.num_steps': FLAGS.steps, 'log.every_steps': 10,
        'eval.every_steps': 0, 'checkpoint.every_steps': 0, 'log.progress_bar': False})
    config_loading.validate(config)

    start = time.perf_counter()
    splits = corpus.splits(config.data)  # Hashes the file and counts its characters.
    scan_s = time.perf_counter() - start
    start = time.perf_counter()
    sample = splits['train'].prefix(config.data.tokenizer_sample_chars)
    tokenizer = tokenizers.build_tokenizer(config.data.tokenizer, sample)
    vocab_s = time.perf_counter() - start
    start = time.perf_counter()
    tokens = sum(len(token_cache.tokenize(split, tokenizer, config.data.cache_dir).ids) for split in splits.values())
    tokenize_s = time.perf_counter() - start
    mb = size / 2**20
    print(f'hash + character count: {scan_s:.1f} s ({mb / scan_s:,.0f} MB/s); vocabulary from '
          f'{len(sample):,} characters: {vocab_s:.1f} s ({tokenizer.vocab_size} ids)')
    print(f'tokenization: {tokens:,} tokens in {tokenize_s:.1f} s = {mb / tokenize_s:,.1f} MB/s '
          f'(with the scan: {mb / (tokenize_s + scan_s):,.1f} MB/s); peak RSS so far {_peak_rss_mb():,.0f} MB')

    run = os.path.join(root, 'run')
    task = tasks.build(config, run)  # Finds the cached tokens.
    batcher = task.train_batcher(config.train.batch_size, seed=0)
    next(batcher)
    start = time.perf_counter()
    for _ in range(FLAGS.loader_batches):
      next(batcher)
    loader_rate = FLAGS.loader_batches / (time.perf_counter() - start)
    print(f'loader alone: {loader_rate:,.0f} batches/s ({config.train.batch_size} x {config.data.seq_len} tokens)')

    start = time.perf_counter()
    loop.train_and_evaluate(config, run)
    train_s = time.perf_counter() - start
    with open(os.path.join(run, 'metrics.jsonl')) as f:
      records = [json.loads(line) for line in f]
    rates = [r['steps_per_sec'] for r in records if r['split'] == 'train' and r.get('steps_per_sec')]
    step_rate = rates[-1]  # The last window: compiled, steady.
    print(f'train: {FLAGS.steps} steps in {train_s:.1f} s with compiling and evaluation; steady '
          f'{step_rate:,.1f} batches/s')
    print(f'loader / train step: {loader_rate / step_rate:,.0f}x')
    print(f'peak RSS: {_peak_rss_mb():,.0f} MB')
    print(f'| corpus MB | tokenize MB/s | loader batches/s | train batches/s | ratio | peak RSS MB |')
    print(f'|---|---|---|---|---|---|')
    print(f'| {mb:,.0f} | {mb / tokenize_s:,.1f} | {loader_rate:,.0f} | {step_rate:,.1f} | '
          f'{loader_rate / step_rate:,.0f}x | {_peak_rss_mb():,.0f} |')
  finally:
    if not FLAGS.keep:
      shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
  app.run(main)
