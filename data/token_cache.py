"""Splits tokenized once into memory-mapped token files, reused while their source is unchanged.

A split's tokens go to `<cache_dir>/<split>-<key>.tokens` (raw uint16 when the vocabulary fits, else
uint32) with a `.json` beside it (dtype, token and character counts, the source). The key hashes the
tokenizer and the split's source (its files' sizes and sha256, how it was cut), so a changed file or
tokenizer is re-tokenized and an unchanged one is not. Both files appear whole (written under a
temporary name, then renamed), the `.json` last, so a run killed while tokenizing leaves nothing that a
later run would trust.

Tokenizing chunk by chunk gives the tokens of the whole text because every tokenizer encodes
`a + '\\n' + b` as encode(a), encode('\\n'), encode(b) (tests/test_lm_data.py checks each kind).
"""
import dataclasses
import hashlib
import json
import mmap
import os
import uuid

import numpy as np

FORMAT = 1  # Bump when the file layout changes, so old caches are not read.


@dataclasses.dataclass
class TokenStream:
  """A tokenized split: ids (read-only, uint16 or uint32, over a memory map) and the characters they encode."""
  ids: np.ndarray
  num_chars: int
  path: str


def _key(split, tokenizer) -> str:
  source = {'format': FORMAT, 'tokenizer': tokenizer.fingerprint(), 'text': split.key}
  return hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()[:20]


def _open(path: str, meta: dict) -> np.ndarray:
  """The tokens as a read-only array over a memory map of the file (its `base` chain ends at the mmap)."""
  if not meta['tokens']:  # An empty file cannot be mapped.
    return np.zeros(0, meta['dtype'])
  with open(path, 'rb') as f:
    mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
  return np.frombuffer(mapped, dtype=meta['dtype'], count=meta['tokens'])


def _read_meta(path: str):
  try:
    with open(path + '.json', encoding='utf-8') as f:
      meta = json.load(f)
  except (FileNotFoundError, json.JSONDecodeError):
    return None
  itemsize = np.dtype(meta['dtype']).itemsize
  if not os.path.exists(path) or os.path.getsize(path) != meta['tokens'] * itemsize:
    return None
  return meta


def tokenize(split, tokenizer, cache_dir: str, prune: bool = False) -> TokenStream:
  """The split's tokens from the cache, tokenizing it first if they are not there.

  prune: remove this split's files of other keys (a cache inside one workdir holds one version).
  """
  os.makedirs(cache_dir, exist_ok=True)
  name = f'{split.name}-{_key(split, tokenizer)}'
  path = os.path.join(cache_dir, name + '.tokens')
  meta = _read_meta(path)
  if meta is None:
    meta = _write(split, tokenizer, path)
  if prune:
    for entry in os.listdir(cache_dir):
      if entry.startswith(f'{split.name}-') and not entry.startswith(name):
        os.remove(os.path.join(cache_dir, entry))
  return TokenStream(_open(path, meta), meta['num_chars'], path)


def _write(split, tokenizer, path: str) -> dict:
  dtype = np.uint16 if tokenizer.vocab_size <= np.iinfo(np.uint16).max + 1 else np.uint32
  newline = tokenizer.encode('\n').astype(dtype)
  tokens = num_chars = 0
  temporary = f'{path}.{uuid.uuid4().hex}.tmp'  # Unique: two hosts may tokenize into one shared cache.
  try:
    with open(temporary, 'wb') as f:
      for text in split.chunks():
        num_chars += len(text)
        # encode(text) would equal this; cutting the newline keeps the pieces aligned with it.
        ends_line = text.endswith('\n')
        ids = tokenizer.encode(text[:-1] if ends_line else text).astype(dtype)
        f.write(ids.tobytes())
        tokens += len(ids)
        if ends_line:
          f.write(newline.tobytes())
          tokens += len(newline)
    meta = {'dtype': np.dtype(dtype).name, 'tokens': tokens, 'num_chars': num_chars, 'source': split.key,
            'tokenizer': tokenizer.fingerprint()}
    os.replace(temporary, path)
  finally:
    if os.path.exists(temporary):
      os.remove(temporary)
  with open(f'{path}.json.{uuid.uuid4().hex}.tmp', 'w', encoding='utf-8') as f:
    json.dump(meta, f, indent=1)
  os.replace(f.name, path + '.json')
  return meta
