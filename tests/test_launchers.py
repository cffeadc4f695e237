"""ablate.py's launchers: --jobs=N child processes on this host, and SLURM array tasks through submitit on a real
single-node SLURM (slurmctld, slurmd and munged started here; skipped where SLURM is not installed or will not
start). Both give the tables of the sequential sweep."""
import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from training import config_loading
from training import errors
from training import launchers
from training import sweep as sweeps

# 2 rows x 2 seeds of tiny time-series configs (no data files); the dense row fine-tunes a pretraining run, so
# its runs must wait for that one.
SWEEP = '''
def get_sweep():
  common = {'log.progress_bar': False}
  return dict(
      seeds=2, metrics=('valid/mse', 'test/mse'), reference_metric='valid/mse',
      pretraining={'pre': dict(config='configs/timeseries/dense.py:tiny',
                               overrides=dict(common, **{'train.num_steps': 5}))},
      rows=[dict(name='naive', config='configs/timeseries/naive.py:tiny', reference=0.02),
            dict(name='dense', config='configs/timeseries/dense.py:tiny', init_from='pre',
                 overrides=dict(common, **{'train.num_steps': 10}))])
'''
ABLATE = os.path.join(config_loading.REPO_ROOT, 'ablate.py')


def _ablate(*args, env=None, timeout=300, check=True):
  result = subprocess.run([sys.executable, ABLATE, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=config_loading.REPO_ROOT, env=env or dict(os.environ, JAX_PLATFORMS='cpu'))
  if check:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  return result


def _tables(workdir) -> tuple:
  """(table.md's text, table.csv's rows)."""
  with open(os.path.join(workdir, 'table.csv')) as f:
    rows = list(csv.DictReader(f))
  with open(os.path.join(workdir, 'table.md')) as f:
    return f.read(), rows


def _assert_same_tables(workdir, expected_workdir):
  markdown, rows = _tables(workdir)
  expected_markdown, expected_rows = _tables(expected_workdir)
  assert markdown == expected_markdown
  assert [r['row'] for r in rows] == [r['row'] for r in expected_rows]
  for row, expected in zip(rows, expected_rows):
    assert row['seeds'] == expected['seeds'] == '2'
    for key in ('valid/mse_mean', 'valid/mse_std', 'test/mse_mean', 'test/mse_std'):
      assert float(row[key]) == pytest.approx(float(expected[key]), rel=1e-6, abs=1e-9), (row['row'], key)


@pytest.fixture(scope='module')
def sweep_file(tmp_path_factory):
  path = tmp_path_factory.mktemp('sweep') / 'sweep.py'
  path.write_text(SWEEP)
  return str(path)


@pytest.fixture(scope='module')
def sequential(sweep_file, tmp_path_factory):
  """The workdir of the sweep trained as ablate.py's default does: one run after another, in this process."""
  workdir = str(tmp_path_factory.mktemp('sequential'))
  sweep = sweeps.load_sweep(sweep_file)
  sweeps.run_sweep(sweep, workdir)
  sweeps.write_tables(sweep, sweeps.collect(sweep, workdir), workdir)
  return workdir


@pytest.fixture(scope='module')
def local_jobs(sweep_file, tmp_path_factory):
  """The workdir and output of the sweep trained by ablate.py --launcher=local --jobs=2."""
  workdir = str(tmp_path_factory.mktemp('local'))
  result = _ablate(f'--sweep={sweep_file}', f'--workdir={workdir}', '--launcher=local', '--jobs=2')
  return workdir, result.stdout


def test_cpu_slots_share_the_cpus_or_take_turns():
  assert launchers.cpu_slots(2, [0, 1, 2, 3]) == [{0, 1}, {2, 3}]
  assert launchers.cpu_slots(3, [0, 1, 2, 3, 4]) == [{0, 1}, {2, 3}, {4}]
  assert launchers.cpu_slots(3, [4, 5]) == [{4}, {5}, {4}]
  assert launchers.cpu_slots(1, [0, 1]) == [{0, 1}]


def test_plan_is_the_order_the_sequential_sweep_trains_in(tmp_path, monkeypatch):
  path = tmp_path / 'sweep.py'
  path.write_text(SWEEP.replace("init_from='pre',", "init_from='pre', folds=2,"))
  sweep = sweeps.load_sweep(str(path))
  order = []
  monkeypatch.setattr(sweeps, 'row_config', lambda *args, **kwargs: None)  # The time series have no data.fold.
  monkeypatch.setattr(sweeps, '_train', lambda config, out, *args: order.append(out))
  sweeps.run_sweep(sweep, str(tmp_path))
  runs = sweeps.plan(sweep, str(tmp_path))
  assert [run.out for run in runs] == order
  assert [run.name for run in runs] == ['pretraining pre', 'naive seed 0', 'dense seed 0 fold 0',
                                        'dense seed 0 fold 1', 'naive seed 1', 'dense seed 1 fold 0',
                                        'dense seed 1 fold 1']
  assert {run.init_from for run in runs if run.row == 'dense'} == {'pre'}


def test_slurm_options_come_from_the_sweep_then_the_flags():
  section = dict(partition='gpu', time='1-00:00:00', gpus=1, args={'account': 'abc'})
  options = launchers.slurm_options(section, time='90', cpus=8, requeue=False, args=['qos=high'], parallelism=4)
  assert options == launchers.SlurmOptions(partition='gpu', time_min=90, gpus=1, cpus=8, requeue=False,
                                           args={'account': 'abc', 'qos': 'high'}, parallelism=4)
  assert [launchers.parse_time(t) for t in ('30', '2:30', '1:00:01', '2-0', '1-2:03', '0-0:0:59')] == [
      30, 3, 61, 2880, 1563, 1]
  for bad in ('abc', '0', '1:2:3:4', '-5'):
    with pytest.raises(errors.ConfigError, match='slurm time'):
      launchers.parse_time(bad)
  with pytest.raises(errors.ConfigError, match="slurm option 'qos' is not KEY=VALUE"):
    launchers.slurm_options({}, args=['qos'])


def test_slurm_without_submitit_or_sbatch_is_a_config_error(monkeypatch):
  monkeypatch.setitem(sys.modules, 'submitit', None)  # `import submitit` raises ImportError.
  with pytest.raises(errors.ConfigError, match=r"needs submitit: .*pip install -e '\.\[cluster\]'"):
    launchers.check_slurm_available()
  monkeypatch.delitem(sys.modules, 'submitit')
  pytest.importorskip('submitit')
  monkeypatch.setenv('PATH', '/nonexistent')
  with pytest.raises(errors.ConfigError, match='needs sbatch'):
    launchers.check_slurm_available()


def test_launcher_flags_that_do_not_go_together_are_config_errors():
  launchers.check_launcher('local', 2, [])
  launchers.check_launcher('slurm', 1, ['--slurm_time', '--slurm_gpus'])
  for args, message in [(('pbs', 1, []), "Unknown launcher 'pbs'; choose one of: local, slurm."),
                        (('local', 0, []), '--jobs must be at least 1; got 0.'),
                        (('local', 1, ['--slurm_gpus']), '--slurm_gpus applies only with --launcher=slurm.'),
                        (('local', 2, ['--slurm_time', '--slurm_cpus']),
                         '--slurm_time, --slurm_cpus apply only with --launcher=slurm.')]:
    with pytest.raises(errors.ConfigError, match=re.escape(message)):
      launchers.check_launcher(*args)


def test_bad_launcher_flags_are_one_line_with_status_2_before_anything_runs(sweep_file, tmp_path):
  cases = [('--launcher=pbs', 'error: flag --launcher=pbs: value should be one of <local|slurm>'),
           ('--slurm_gpus=1', 'error: --slurm_gpus applies only with --launcher=slurm.')]
  for flag, expected in cases:
    result = _ablate(f'--sweep={sweep_file}', f'--workdir={tmp_path / "out"}', flag, check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, (flag, result.stderr[-2000:])
    assert lines[0].startswith(expected) and not (tmp_path / 'out').exists()


def test_local_jobs_give_the_sequential_tables(local_jobs, sequential):
  workdir, stdout = local_jobs
  _assert_same_tables(workdir, sequential)
  for row in ('naive', 'dense'):
    for seed in (0, 1):
      with open(os.path.join(workdir, row, f'seed_{seed}', 'results.json')) as f, \
           open(os.path.join(sequential, row, f'seed_{seed}', 'results.json')) as g:
        assert json.load(f) == pytest.approx(json.load(g), rel=1e-6)
      assert os.path.exists(os.path.join(workdir, 'logs', row, f'seed_{seed}.log'))
  assert '5 runs, 2 at a time' in stdout and 'FAILED' not in stdout
  # The dense runs started from the finished pretraining run (its only checkpoint is its last step).
  for seed in (0, 1):
    log = open(os.path.join(workdir, 'logs', 'dense', f'seed_{seed}.log')).read()
    assert f'Initialized 2 parameter arrays from {os.path.join(workdir, "pretrain", "pre")}' in log


def test_local_failed_runs_are_reported_and_the_others_go_on(sweep_file, tmp_path):
  sweep = sweeps.load_sweep(sweep_file)
  workdir = tmp_path / 'out'
  (workdir / 'pretrain').mkdir(parents=True)
  (workdir / 'pretrain' / 'pre').write_text('a file where the pretraining workdir goes')
  runs = sweeps.plan(sweep, str(workdir), seeds=1)
  failures = launchers.run_local(sweep, sweep_file, str(workdir), runs, jobs=2)
  assert len(failures) == 2
  assert failures[0].startswith('pretraining pre (exit status 2: error: Cannot use workdir')
  assert failures[1] == 'dense seed 0 (not run: its pretraining run pre failed)'
  assert sweeps.finished(str(workdir / 'naive' / 'seed_0')) and not (workdir / 'dense').exists()


def test_ctrl_c_stops_the_children(tmp_path):
  path = tmp_path / 'sweep.py'
  path.write_text('''
def get_sweep():
  return dict(seeds=2, metrics=('valid/mse',), rows=[dict(
      name='long', config='configs/timeseries/dense.py:tiny',
      overrides={'train.num_steps': 10**7, 'eval.every_steps': 10**6, 'checkpoint.every_steps': 10**6,
                 'log.every_steps': 10**6, 'log.progress_bar': False})])
''')
  workdir = tmp_path / 'out'
  parent = subprocess.Popen([sys.executable, ABLATE, f'--sweep={path}', f'--workdir={workdir}', '--jobs=2'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=config_loading.REPO_ROOT,
                            env=dict(os.environ, JAX_PLATFORMS='cpu'))
  locks = [workdir / 'long' / f'seed_{seed}' / 'lock.json' for seed in (0, 1)]
  deadline = time.time() + 120
  while not all(lock.exists() for lock in locks) and time.time() < deadline and parent.poll() is None:
    time.sleep(0.2)
  try:
    assert all(lock.exists() for lock in locks), 'the children did not start training'
    children = [json.loads(lock.read_text())['pid'] for lock in locks]
    parent.send_signal(signal.SIGINT)
    _, stderr = parent.communicate(timeout=launchers.STOP_SECONDS + 30)
  finally:
    parent.kill()
  assert parent.returncode == 130, stderr[-2000:]
  assert 'error: interrupted' in stderr
  for pid in children:
    with pytest.raises(ProcessLookupError):
      os.kill(pid, 0)


# --- SLURM -----------------------------------------------------------------------------------------------

DAEMONS = ('munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'sinfo', 'srun')


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _slurm_conf(root, munge_socket) -> str:
  """A one-node cluster on 127.0.0.1: two CPUs, one partition, no cgroups, no accounting."""
  return f'''ClusterName=seqlabtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerParameters=sched_interval=1
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
'''


def _tail(path, n=15) -> str:
  try:
    with open(path, errors='replace') as f:
      return ''.join(f.readlines()[-n:])
  except OSError:
    return ''


@pytest.fixture
def slurm(tmp_path):
  """The environment (SLURM_CONF) of a running single-node SLURM; its daemons are stopped at the end, and their
  logs copied to tmp_path/slurm_logs."""
  missing = [name for name in DAEMONS if shutil.which(name) is None]
  if missing:
    pytest.skip(f'SLURM is not installed (no {", ".join(missing)}): apt-get install slurm-wlm munge')
  if os.geteuid() != 0:
    pytest.skip('slurmd must run as root to start jobs')
  pytest.importorskip('submitit', reason="submitit is not installed: pip install -e '.[cluster]'")
  # A short path: munged's and slurmd's Unix sockets live here (at most 108 characters).
  root = tempfile.mkdtemp(prefix='seqlab_slurm_')
  for name in ('state', 'spool', 'munge'):
    os.makedirs(os.path.join(root, name))
  key = os.path.join(root, 'munge', 'munge.key')
  with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), 'wb') as f:
    f.write(os.urandom(1024))
  munge_socket = os.path.join(root, 'munge', 'socket')
  conf = os.path.join(root, 'slurm.conf')
  with open(conf, 'w') as f:
    f.write(_slurm_conf(root, munge_socket))
  env = dict(os.environ, SLURM_CONF=conf, JAX_PLATFORMS='cpu')
  commands = [['munged', '--foreground', '--force', f'--socket={munge_socket}', f'--key-file={key}',
               f'--pid-file={root}/munge/pid', f'--log-file={root}/munged.log', f'--seed-file={root}/munge/seed'],
              ['slurmctld', '-D', '-c', '-f', conf],
              ['slurmd', '-D', '-N', 'localhost', '-f', conf]]
  daemons = []

  def stop():
    if len(daemons) == len(commands):
      subprocess.run(['scancel', '--user=root'], env=env, capture_output=True, timeout=30)
      deadline = time.time() + 20
      while time.time() < deadline and subprocess.run(['squeue', '-h'], env=env, capture_output=True, text=True,
                                                      timeout=30).stdout.strip():
        time.sleep(0.5)
    for daemon in reversed(daemons):
      daemon.terminate()
      try:
        daemon.wait(timeout=15)
      except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
    daemons.clear()

  try:
    for command in commands:
      with open(os.path.join(root, f'{command[0]}.out'), 'w') as out:
        daemons.append(subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL))
      deadline = time.time() + 10
      while command[0] == 'munged' and not os.path.exists(munge_socket) and time.time() < deadline:
        time.sleep(0.1)
    deadline, state = time.time() + 30, ''
    while time.time() < deadline and all(d.poll() is None for d in daemons):
      state = subprocess.run(['sinfo', '-h', '-o', '%T'], env=env, capture_output=True, text=True,
                             timeout=30).stdout.strip()
      if state == 'idle':
        break
      time.sleep(0.3)
    if state != 'idle':
      logs = '\n'.join(f'{name}: {_tail(os.path.join(root, name))}' for name in ('munged.out', 'munged.log',
                                                                                 'slurmctld.out', 'slurmd.out'))
      pytest.skip(f'SLURM did not start (node state {state!r}):\n{logs}')
    yield env
  finally:
    stop()
    shutil.copytree(root, tmp_path / 'slurm_logs', ignore=lambda folder, names: [
        n for n in names if not n.endswith(('.log', '.out', '.conf'))])
    shutil.rmtree(root, ignore_errors=True)


def _wait_for_jobs(env, job_ids, timeout=240) -> dict:
  """{job or array task id: state} once no job of `job_ids` is pending or running."""
  deadline = time.time() + timeout
  while subprocess.run(['squeue', '-h', '-j', ','.join(job_ids)], env=env, capture_output=True, text=True,
                       timeout=30).stdout.strip():
    assert time.time() < deadline, f'jobs {job_ids} still queued after {timeout} s'
    time.sleep(0.5)
  shown = ''.join(subprocess.run(['scontrol', '-o', 'show', 'job', job], env=env, capture_output=True, text=True,
                                 timeout=30).stdout for job in job_ids)
  states = {}
  for line in shown.splitlines():
    fields = dict(re.findall(r'(\w+)=(\S+)', line))
    task = fields.get('ArrayTaskId')
    states[f'{fields["ArrayJobId"]}_{task}' if task else fields['JobId']] = fields['JobState']
  return states


def test_slurm_array_gives_the_local_tables(slurm, sweep_file, sequential, local_jobs, tmp_path):
  workdir = str(tmp_path / 'out')
  submit = [f'--sweep={sweep_file}', f'--workdir={workdir}', '--launcher=slurm', '--slurm_time=10',
            '--slurm_cpus=1']
  out = _ablate(*submit, env=slurm).stdout
  submitted = re.findall(r'Submitted SLURM job (\d+): (.*)\.', out)
  jobs = [job for job, _ in submitted]
  assert [what for _, what in submitted] == ['pretraining pre', 'an array of 2 runs',
                                            f'an array of 2 runs, after job {jobs[0]}'], out
  assert '5 runs submitted' in out and '--table_only' in out
  script = open(os.path.join(workdir, 'logs', 'slurm', jobs[2], f'{jobs[2]}_submission.sh')).read()
  assert f'#SBATCH --dependency=afterok:{jobs[0]}' in script and '#SBATCH --requeue' in script
  # Submitting again while they are queued or running submits nothing twice.
  again = _ablate(*submit, env=slurm).stdout
  assert 'Submitted SLURM job' not in again

  states = _wait_for_jobs(slurm, jobs)
  assert sorted(states.values()) == ['COMPLETED'] * 5, states
  _ablate(f'--sweep={sweep_file}', f'--workdir={workdir}', '--table_only', env=slurm)
  _assert_same_tables(workdir, sequential)
  _assert_same_tables(workdir, local_jobs[0])
