"""data/download.py against an HTTP server on 127.0.0.1 that serves files from tmp_path and honours Range
requests (the standard library's SimpleHTTPRequestHandler does not); nothing here reaches the internet.

The registry's own entries are used with their URLs pointed at that server, so the layout paths and the
build functions are the real ones. The last tests check the registry against the shared data's README and
files, and skip (saying so) unless $SEQLAB_DATA_DIR holds them.
"""
import dataclasses
import gzip
import hashlib
import http.server
import io
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import zipfile

import pytest

from data import download

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sha(data: bytes) -> str:
  return hashlib.sha256(data).hexdigest()


class _RangeHandler(http.server.BaseHTTPRequestHandler):
  """GET of server.root/PATH; `Range: bytes=N-` gives 206 from byte N (416 past the end). The server
  records (path, Range header, body bytes sent) per request and can cut a response short (server.cut)."""

  def do_GET(self):
    server = self.server
    path = os.path.join(server.root, self.path.lstrip('/'))
    if not os.path.isfile(path):
      self.send_error(404)
      return
    with open(path, 'rb') as f:
      data = f.read()
    # Each request is recorded before it is answered: the client may look as soon as it has the answer.
    if server.status:
      server.requests.append((self.path, self.headers.get('Range'), 0))
      self.send_error(server.status)
      return
    start, requested = 0, self.headers.get('Range')
    if requested and not server.ignore_range:
      start = int(re.fullmatch(r'bytes=(\d+)-', requested)[1])
      if start >= len(data):
        server.requests.append((self.path, requested, 0))
        self.send_response(416)
        self.send_header('Content-Range', f'bytes */{len(data)}')
        self.send_header('Content-Length', '0')
        self.end_headers()
        return
      self.send_response(206)
      self.send_header('Content-Range', f'bytes {start}-{len(data) - 1}/{len(data)}')
    else:
      self.send_response(200)
    body = data[start:]
    cut = server.cut.pop(self.path, None)  # Once: the retry gets the rest.
    sent = body if cut is None else body[:cut]
    server.requests.append((self.path, requested, len(sent)))
    self.send_header('Content-Length', str(len(body)))
    self.end_headers()
    self.wfile.write(sent)
    self.wfile.flush()
    self.close_connection = True

  def log_message(self, *args):
    pass


@pytest.fixture
def server(tmp_path_factory):
  root = tmp_path_factory.mktemp('www')  # Outside tmp_path, which the tests use as the data directory.
  httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _RangeHandler)
  httpd.root, httpd.requests, httpd.cut, httpd.ignore_range, httpd.status = str(root), [], {}, False, 0
  httpd.url = f'http://127.0.0.1:{httpd.server_address[1]}'
  thread = threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.02}, daemon=True)
  thread.start()
  yield httpd
  httpd.shutdown()
  httpd.server_close()


def serve(server, name: str, data: bytes) -> str:
  with open(os.path.join(server.root, name), 'wb') as f:
    f.write(data)
  return f'{server.url}/{name}'


def pointed(name: str, url: str, **sha256s) -> dict:
  """The registry with only `name`, its one source fetched from url and outputs' checksums replaced:
  sha256s maps an output's path to a sha256 or to (sha256, text_sha256)."""
  (source,) = download.REGISTRY[name]
  outputs = []
  for output in source.outputs:
    value = sha256s.get(output.path, output.sha256)
    sha256, text_sha256 = value if isinstance(value, tuple) else (value, output.text_sha256)
    outputs.append(dataclasses.replace(output, sha256=sha256, text_sha256=text_sha256))
  return {name: (dataclasses.replace(source, url=url, outputs=tuple(outputs)),)}


def get(registry, data_dir, **options):
  lines = []
  download.download(list(registry), str(data_dir), registry=registry, backoff_s=0, log=lines.append, **options)
  return lines


TEXT = bytes(range(256)) * 40  # 10 kB that a shifted or repeated byte would change.


def _shakespeare(server, data: bytes = TEXT, served: bytes | None = None) -> dict:
  url = serve(server, 'input.txt', data if served is None else served)
  return pointed('tinyshakespeare', url, **{'tinyshakespeare/input.txt': sha(data)})


def test_fresh_download_is_verified_and_lands_at_its_layout_path(server, tmp_path):
  lines = get(_shakespeare(server), tmp_path / 'data')  # A data directory that does not exist yet.
  assert (tmp_path / 'data' / 'tinyshakespeare' / 'input.txt').read_bytes() == TEXT
  assert sorted(os.listdir(tmp_path / 'data')) == ['tinyshakespeare']
  assert sorted(os.listdir(tmp_path / 'data' / 'tinyshakespeare')) == ['input.txt']  # No .part left.
  assert server.requests == [('/input.txt', None, len(TEXT))]
  assert lines == [f'tinyshakespeare/input.txt: downloaded from {server.url}/input.txt (sha256 ok).']
  # Present and right: nothing is fetched again.
  assert get(_shakespeare(server), tmp_path / 'data') == ['tinyshakespeare/input.txt: present (sha256 ok).']
  assert len(server.requests) == 1


def test_a_connection_dropped_half_way_resumes_with_a_range_request(server, tmp_path):
  server.cut['/input.txt'] = 4000
  get(_shakespeare(server), tmp_path)
  assert (tmp_path / 'tinyshakespeare' / 'input.txt').read_bytes() == TEXT
  # The retry asked for the rest, and the bytes before it were not sent again.
  assert server.requests == [('/input.txt', None, 4000), ('/input.txt', 'bytes=4000-', len(TEXT) - 4000)]


def test_a_part_file_left_by_an_earlier_run_is_resumed(server, tmp_path):
  (tmp_path / 'tinyshakespeare').mkdir()
  (tmp_path / 'tinyshakespeare' / 'input.txt.part').write_bytes(TEXT[:1234])
  get(_shakespeare(server), tmp_path)
  assert (tmp_path / 'tinyshakespeare' / 'input.txt').read_bytes() == TEXT
  assert server.requests == [('/input.txt', 'bytes=1234-', len(TEXT) - 1234)]
  assert not (tmp_path / 'tinyshakespeare' / 'input.txt.part').exists()


def test_a_server_that_ignores_range_restarts_from_byte_0(server, tmp_path):
  server.ignore_range = True
  (tmp_path / 'tinyshakespeare').mkdir()
  (tmp_path / 'tinyshakespeare' / 'input.txt.part').write_bytes(TEXT[:1234])
  get(_shakespeare(server), tmp_path)
  assert (tmp_path / 'tinyshakespeare' / 'input.txt').read_bytes() == TEXT  # Not the 1234 bytes twice.


def test_a_stale_part_file_of_other_bytes_is_fetched_again_from_0(server, tmp_path):
  (tmp_path / 'tinyshakespeare').mkdir()
  (tmp_path / 'tinyshakespeare' / 'input.txt.part').write_bytes(b'x' * 1234)
  get(_shakespeare(server), tmp_path)
  assert (tmp_path / 'tinyshakespeare' / 'input.txt').read_bytes() == TEXT
  assert [r[1] for r in server.requests] == ['bytes=1234-', None]


def test_a_corrupted_existing_file_is_detected_and_fetched_again(server, tmp_path):
  (tmp_path / 'tinyshakespeare').mkdir()
  (tmp_path / 'tinyshakespeare' / 'input.txt').write_bytes(TEXT[:-1] + b'!')
  lines = get(_shakespeare(server), tmp_path)
  assert (tmp_path / 'tinyshakespeare' / 'input.txt').read_bytes() == TEXT
  assert lines[0] == (f'tinyshakespeare/input.txt: sha256 {sha(TEXT[:-1] + b"!")} is not the expected {sha(TEXT)}; '
                      'fetching it again.')
  assert server.requests == [('/input.txt', None, len(TEXT))]


def test_wrong_bytes_fail_in_one_line_naming_the_file_and_both_checksums(server, tmp_path, capsys):
  wrong = TEXT[::-1]
  registry = _shakespeare(server, served=wrong)
  status = download.main([f'--data_dir={tmp_path}', 'tinyshakespeare', '--no_progress'], registry=registry)
  err = capsys.readouterr().err
  dest = tmp_path / 'tinyshakespeare' / 'input.txt'
  assert status == 2
  assert err.startswith('error: ') and err.count('\n') == 1
  assert str(dest) in err and sha(TEXT) in err and sha(wrong) in err
  assert not dest.exists() and not (tmp_path / 'tinyshakespeare' / 'input.txt.part').exists()
  assert (tmp_path / 'tinyshakespeare' / 'input.txt.sha256-mismatch').read_bytes() == wrong


def test_a_server_that_keeps_failing_ends_in_one_line_and_keeps_the_part(server, tmp_path):
  registry = _shakespeare(server)
  server.status = 503
  with pytest.raises(download.DownloadError, match=r'HTTP 503 .*3 tries in a row.*next run resumes'):
    download.download(['tinyshakespeare'], str(tmp_path), registry=registry, retries=2, backoff_s=0,
                      log=lambda line: None)
  assert len(server.requests) == 3
  assert not (tmp_path / 'tinyshakespeare' / 'input.txt').exists()


def test_missing_files_upstream_are_an_error_not_a_retry(server, tmp_path):
  registry = pointed('tinyshakespeare', f'{server.url}/nothing.txt')
  with pytest.raises(download.DownloadError, match=r'nothing\.txt: HTTP 404'):
    download.download(['tinyshakespeare'], str(tmp_path), registry=registry, backoff_s=0, log=print)


def test_unknown_names_end_in_one_line_listing_the_names():
  done = subprocess.run([sys.executable, '-m', 'data.download', '--data_dir=/nonexistent', 'imdb', 'imbd'],
                        cwd=REPO, capture_output=True, text=True)
  assert done.returncode == 2 and done.stdout == ''
  assert done.stderr == ("error: unknown dataset 'imbd'; known: tinyshakespeare, multi30k, sst2, mr, sst, imdb, "
                         'ud_english_ewt (or all).\n')
  assert download.resolve(['all']) == list(download.REGISTRY)


# ---------------------------------------------------------------- rebuilding from archives

def _tar_gz(members: dict) -> bytes:
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode='w:gz') as tar:
    for name, data in members.items():
      info = tarfile.TarInfo(name)
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))
  return buffer.getvalue()


# A tiny aclImdb: ids out of order and past 9 (sorted as numbers, not strings), files that are not reviews.
IMDB_MEMBERS = {
    'aclImdb/README': b'Large Movie Review Dataset v1.0\n',
    'aclImdb/imdb.vocab': b'the\nand\n',
    'aclImdb/train/urls_pos.txt': b'http://www.imdb.com/title/tt0453418/usercomments\n',
    'aclImdb/train/pos/10_8.txt': b'Ten.<br /><br />Good.',
    'aclImdb/train/pos/2_9.txt': b'Two, caf\xc3\xa9.',
    'aclImdb/train/neg/0_3.txt': b'Zero.',
    'aclImdb/train/unsup/11_0.txt': b'Eleven.',
    'aclImdb/train/unsup/3_0.txt': b'Three.',
    'aclImdb/test/neg/1_1.txt': b'One.',
    'aclImdb/test/pos/0_10.txt': b'Zero!',
    'aclImdb/test/labeledBow.feat': b'9 0:9 1:1\n',
}
IMDB_EXPECTED = {
    'imdb/train.txt.gz': b'0 Zero.\n1 Two, caf\xc3\xa9.\n1 Ten.<br /><br />Good.\n',
    'imdb/train.ratings.tsv': b'label\tid\trating\n0\t0\t3\n1\t2\t9\n1\t10\t8\n',
    'imdb/test.txt.gz': b'0 One.\n1 Zero!\n',
    'imdb/test.ratings.tsv': b'label\tid\trating\n0\t1\t1\n1\t0\t10\n',
    'imdb/unsup.txt.gz': b'Three.\nEleven.\n',
}


def _imdb_registry(server, expected=IMDB_EXPECTED):
  url = serve(server, 'aclImdb_v1.tar.gz', _tar_gz(IMDB_MEMBERS))
  # The .gz files: verified by their text (the README's gzip sha256 kept, which these bytes do not have).
  return pointed('imdb', url, **{path: ((download.REGISTRY['imdb'][0].outputs[0].sha256, sha(text))
                                        if path.endswith('.gz') else sha(text)) for path, text in expected.items()})


def test_imdb_is_rebuilt_from_its_archive_in_the_stored_format(server, tmp_path):
  lines = get(_imdb_registry(server), tmp_path)
  for path, text in IMDB_EXPECTED.items():
    stored = (tmp_path / path).read_bytes()
    assert (gzip.decompress(stored) if path.endswith('.gz') else stored) == text, path
  assert sorted(os.listdir(tmp_path)) == ['imdb']  # The archive is gone, no .tmp or .part left.
  assert sorted(os.listdir(tmp_path / 'imdb')) == sorted(os.path.basename(p) for p in IMDB_EXPECTED)
  archive_line = lines[0]
  assert 'aclImdb_v1.tar.gz' in archive_line and 'UNVERIFIED' in archive_line
  assert 'imdb/train.txt.gz: built from aclImdb_v1.tar.gz (sha256 of the uncompressed text ok;' in lines[1]
  # Present: checked by the text, not fetched again.
  assert get(_imdb_registry(server), tmp_path, keep_archives=True)[0].startswith('imdb/train.txt.gz: present')
  assert len(server.requests) == 1


def test_a_rebuilt_file_that_does_not_verify_replaces_nothing(server, tmp_path):
  (tmp_path / 'imdb').mkdir()
  (tmp_path / 'imdb' / 'test.txt.gz').write_bytes(b'old')
  expected = dict(IMDB_EXPECTED, **{'imdb/test.txt.gz': b'0 Another.\n1 Zero!\n'})
  with pytest.raises(download.DownloadError) as e:
    get(_imdb_registry(server, expected), tmp_path)
  message = str(e.value)
  assert message.startswith('imdb/test.txt.gz built from aclImdb_v1.tar.gz: sha256 of the uncompressed text ')
  assert sha(IMDB_EXPECTED['imdb/test.txt.gz']) in message and sha(expected['imdb/test.txt.gz']) in message
  # All or nothing: no built file replaced or added (train verified, but it was still a .tmp); the archive
  # is kept for the next try.
  assert sorted(os.listdir(tmp_path / 'imdb')) == ['test.txt.gz', 'test.txt.gz.sha256-mismatch']
  assert (tmp_path / 'imdb' / 'test.txt.gz').read_bytes() == b'old'
  assert os.listdir(tmp_path / '.downloads') == ['aclImdb_v1.tar.gz']


def test_an_archive_that_cannot_be_read_ends_in_one_line_naming_it(server, tmp_path):
  url = serve(server, 'aclImdb_v1.tar.gz', b'<html>Moved</html>')
  with pytest.raises(download.DownloadError, match=r"^aclImdb_v1\.tar\.gz cannot be read: .* delete it"):
    get(pointed('imdb', url), tmp_path)
  assert not (tmp_path / 'imdb').exists()


def test_sst_is_rebuilt_from_its_zip(server, tmp_path):
  trees = {'train': b'(3 (2 It) (4 works))\r\n(1 No)', 'dev': b'(2 So)\n', 'test': b'(4 Yes)\n(0 Bad)\n'}
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w') as z:
    for split, text in trees.items():
      z.writestr(f'trees/{split}.txt', text)
  url = serve(server, 'trainDevTestTrees_PTB.zip', buffer.getvalue())
  expected = {'sst/train.txt.gz': b'(3 (2 It) (4 works))\n(1 No)\n', 'sst/dev.txt.gz': trees['dev'],
              'sst/test.txt.gz': trees['test']}
  get(pointed('sst', url, **{path: ('0' * 64, sha(text)) for path, text in expected.items()}), tmp_path)
  for path, text in expected.items():
    assert gzip.decompress((tmp_path / path).read_bytes()) == text


# ---------------------------------------------------------------- the registry and the shared data

SHARED = os.environ.get('SEQLAB_DATA_DIR', '')
needs_shared = pytest.mark.skipif(not SHARED or not os.path.isfile(os.path.join(SHARED, 'imdb', 'unsup.txt.gz')),
                                  reason='SEQLAB_DATA_DIR does not hold the shared data and its README.md')


def readme_sha256s(text: str) -> dict:
  """{path: sha256} from the README: its table's last column and its `SHA256  NAME` blocks (bare names in the
  Multi30k block are under multi30k/)."""
  table = {m[1]: m[2] for m in re.finditer(r'^\| ([\w./]+) \|.*\| ([0-9a-f]{64}) \|$', text, re.M)}
  listed = {name if '/' in name else f'multi30k/{name}': digest
            for digest, name in re.findall(r'^([0-9a-f]{64})  (\S+)$', text, re.M)}
  return {**table, **listed}


def all_outputs():
  return {o.path: o for sources in download.REGISTRY.values() for s in sources for o in s.outputs}


@needs_shared
def test_the_registry_holds_the_shared_readmes_checksums():
  with open(os.path.join(SHARED, 'README.md')) as f:
    readme = readme_sha256s(f.read())
  assert len(readme) == 22  # 1 + 4 in the table, 6 Multi30k, 11 SST, IMDB and UD.
  outputs = all_outputs()
  assert {path: outputs[path].sha256 for path in readme if path in outputs} == readme
  assert set(outputs) - set(readme) == {'ud_english_ewt/LICENSE.txt'}  # Named in the README, not hashed.


@needs_shared
def test_the_registry_checksums_not_in_the_readme_are_the_shared_copies():
  for path, output in all_outputs().items():
    if path not in ('ud_english_ewt/LICENSE.txt',) and not output.text_sha256:
      continue
    stored = os.path.join(SHARED, path)
    assert download.sha256_file(stored) == output.sha256, path
    if output.text_sha256:
      assert download.sha256_file(stored, gunzip=True) == output.text_sha256, path
  for source in download.REGISTRY['ud_english_ewt'][:3]:  # The .conllu download is the text.
    assert source.sha256 == source.outputs[0].text_sha256


@needs_shared
@pytest.mark.skipif(not shutil.which('gzip'), reason='no gzip program')
def test_gzip_9n_reproduces_the_shared_sst_and_ud_files_byte_for_byte():
  for path, output in all_outputs().items():
    if path.startswith(('sst/', 'ud_english_ewt/')) and path.endswith('.gz'):
      with gzip.open(os.path.join(SHARED, path)) as f:
        assert sha(download._gzip(f.read())) == output.sha256, path


@needs_shared
def test_the_imdb_build_reproduces_the_shared_files_from_their_reviews():
  """aclImdb's members rebuilt from the shared files (names from the ratings, text from the lines), shuffled:
  the build must give back the same bytes, i.e. the order and format the README describes."""
  members = []
  for split in ('train', 'test'):
    with open(os.path.join(SHARED, f'imdb/{split}.ratings.tsv'), 'rb') as f:
      rows = f.read().splitlines()[1:]
    with gzip.open(os.path.join(SHARED, f'imdb/{split}.txt.gz')) as f:
      lines = f.read().split(b'\n')[:-1]
    assert len(rows) == len(lines) == 25000
    for row, line in zip(rows, lines):
      label, review_id, rating = row.split(b'\t')
      assert line[:2] == label + b' '
      kind = 'pos' if label == b'1' else 'neg'
      members.append((f'aclImdb/{split}/{kind}/{int(review_id)}_{int(rating)}.txt', line[2:]))
  with gzip.open(os.path.join(SHARED, 'imdb/unsup.txt.gz')) as f:
    members += [(f'aclImdb/train/unsup/{i}_0.txt', line) for i, line in enumerate(f.read().split(b'\n')[:-1])]
  random.Random(0).shuffle(members)
  built = download.imdb_files(members)
  del members
  for output in download.REGISTRY['imdb'][0].outputs:
    assert sha(built.pop(output.path)) == (output.text_sha256 or output.sha256), output.path
