"""Running a sweep's runs in parallel: several processes on this host, or one SLURM array task each.

ablate.py --jobs=1 (the default) trains the runs of sweep.plan one after another in its own process
(sweep.run_sweep). The launchers here dispatch the same runs, each trained by sweep.train_run into its own
workdir, as `train.py` would:

- run_local (--launcher=local --jobs=N): N child processes at a time (`python -m training.launchers`, one
  per run), in the plan's order, each writing its output to WORKDIR/logs/RUN.log. A run that starts from a
  pretraining run (init_from) or distils one (distill_from) starts once that run has finished; if it failed,
  the run is reported as not run. A failed run is reported and the others go on; the caller writes the tables of the finished
  runs. Ctrl-C (or SIGTERM) is passed on to the children as one SIGINT each, on which a run stops as
  train.py does on Ctrl-C; a second Ctrl-C, or a child still running after STOP_SECONDS, is killed.
  Threads: XLA sizes its intra-op thread pool (and numpy's BLAS its own) from the CPUs a process may run
  on, so N unpinned children on C cores would each start C threads and fight for the cores. Each child is
  instead started on its slot's share of this process's CPUs (cpu_slots: C/N cores each, one core each
  when N > C), inherited from the thread that starts it; no XLA_FLAGS or taskset is needed.
- submit_slurm (--launcher=slurm): through submitit, the unfinished pretraining runs that rows start from
  are submitted first, one job each; then the rows' runs as job arrays, one array task per (row, seed,
  fold): one array for the runs that start from no unfinished pretraining run, and one per pretraining
  run the others start from, which waits for that job (--dependency=afterok:JOB, and
  --kill-on-invalid-dep=yes cancels it if the pretraining fails). Each task trains in the job's process
  (SlurmTask). The submission returns at once; `ablate.py --table_only` collects the finished runs.
  Submitted tasks are listed in WORKDIR/logs/slurm/submitted.jsonl, so submitting again while they are
  queued or running (squeue) skips them instead of starting a second process on the same workdir.
  Requeue (default on): sbatch --requeue, so that a task that is preempted (PreemptMode=REQUEUE) or whose
  node fails goes back to the queue; and the task is checkpointable for submitit, which requeues it on
  SLURM's warning signal (USR2, 90 s before the time limit; at preemption too where the cluster sets
  PreemptParameters=send_user_signal), up to 3 time limits. While the run trains, the loop takes that
  signal itself (training/preemption.py): it saves the step it reached and the task requeues itself
  (scontrol requeue). A requeued task resumes its run from the workdir's latest checkpoint. CPU binding under SLURM is the cluster's (--slurm_cpus with its
  task/affinity or cgroup plugin), which XLA then follows. SLURM needs the workdir, this repository and
  the Python environment on a file system its nodes share.
"""
import argparse
import dataclasses
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

from training import errors
from training import preemption
from training import sweep as sweeps

LOG_DIR = 'logs'  # Under the sweep's workdir: RUN.log per local run, slurm/ for submitit's files.
LAUNCHERS = ('local', 'slurm')
STOP_SECONDS = 60.0  # How long a stopped child may take to save its checkpoint before it is killed.
POLL_SECONDS = 0.1
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_slots(jobs: int, cpus: list[int]) -> list[set]:
  """The CPUs of each of `jobs` slots: contiguous equal shares of `cpus` (the first shares get the
  remainder), or one CPU each, in turn, when there are more slots than CPUs."""
  if jobs > len(cpus):
    return [{cpus[k % len(cpus)]} for k in range(jobs)]
  share, extra = divmod(len(cpus), jobs)
  bounds = [k * share + min(k, extra) for k in range(jobs + 1)]
  return [set(cpus[bounds[k]:bounds[k + 1]]) for k in range(jobs)]


def log_path(workdir: str, run: sweeps.Run) -> str:
  """WORKDIR/logs/ROW/seed_S[/fold_F].log, or logs/pretrain/NAME.log."""
  return os.path.join(workdir, LOG_DIR, os.path.relpath(run.out, workdir) + '.log')


def summary(run: sweeps.Run, metrics: tuple) -> str:
  """A finished run's line: its metrics, or where it diverged."""
  with open(os.path.join(run.out, 'results.json')) as f:
    results = json.load(f)
  if results.get('diverged'):
    return f'diverged at step {results.get("diverged_at_step", float("nan")):.0f}'
  return ', '.join(f'{m} {results[m]:.5g}' for m in metrics if m in results) or 'finished'


def _absolute(workdir: str, runs: list) -> tuple:
  """(workdir, runs) with absolute paths, for processes that may start elsewhere."""
  return os.path.abspath(workdir), [dataclasses.replace(r, out=os.path.abspath(r.out)) for r in runs]


def _last_line(path: str) -> str:
  try:
    with open(path, errors='replace') as f:
      lines = [line.strip() for line in f.read()[-4000:].splitlines() if line.strip()]
  except OSError:
    return ''
  return lines[-1] if lines else ''


def _spawn_on(cpus: set, command: list, **kwargs) -> subprocess.Popen:
  """Popen of `command` running on `cpus`: the child inherits the CPU mask of the thread that starts it."""
  mask = os.sched_getaffinity(0)
  os.sched_setaffinity(0, cpus)  # This thread's only; the others keep theirs.
  try:
    return subprocess.Popen(command, **kwargs)
  finally:
    os.sched_setaffinity(0, mask)


def _raise_interrupt(signum, frame):
  raise KeyboardInterrupt


@dataclasses.dataclass
class _Child:
  run: sweeps.Run
  process: subprocess.Popen
  log: str
  started: float


def run_local(sweep: dict, sweep_path: str, workdir: str, runs: list, jobs: int, records: str = '',
              config_change: str = 'refuse', verbose: bool = False) -> list[str]:
  """Trains the unfinished `runs` (a sweep.plan), `jobs` child processes at a time; the failures, one line each.

  A run waits for the pretraining run it starts from; it is not run (and counts as failed) if that one failed.
  KeyboardInterrupt stops the children (see the module docstring) and is raised again.
  """
  workdir, runs = _absolute(workdir, runs)
  pending = [run for run in runs if not sweeps.finished(run.out)]
  if not pending:
    return []
  cpus = sorted(os.sched_getaffinity(0))
  slots = cpu_slots(jobs, cpus)
  shares = sorted({len(slot) for slot in slots})
  print(f'{len(pending)} runs, {min(jobs, len(pending))} at a time, each on {"-".join(map(str, shares))} of '
        f'{len(cpus)} CPUs; their output in {os.path.join(workdir, LOG_DIR)}.', flush=True)
  free, running, failures, failed_pretraining = list(range(jobs)), {}, [], set()

  def fail(run: sweeps.Run, why: str) -> None:
    failures.append(f'{run.name} ({why})')
    print(f'    {run.label}: FAILED, {why}', flush=True)
    if run.pretrain:
      failed_pretraining.add(run.pretrain)

  def start(run: sweeps.Run, slot: int) -> _Child:
    log = log_path(workdir, run)
    os.makedirs(os.path.dirname(log), exist_ok=True)
    command = [sys.executable, '-m', 'training.launchers', f'--sweep={os.path.abspath(sweep_path)}',
               f'--workdir={workdir}', f'--run={json.dumps(dataclasses.asdict(run))}',
               f'--config_change={config_change}'] + ([f'--records={os.path.abspath(records)}'] if records else []) + (
               ['--verbose'] if verbose else [])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get('PYTHONPATH')])))
    print(f'{run.label} -> {run.out}', flush=True)
    with open(log, 'ab') as f:
      f.write(f'\n=== {time.strftime("%Y-%m-%d %H:%M:%S")} {shlex.join(command)}\n'.encode())
      f.flush()
      # A session of its own: Ctrl-C at the terminal reaches only this process, which passes it on once.
      process = _spawn_on(slots[slot], command, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                          env=env, start_new_session=True)
    return _Child(run, process, log, time.time())

  previous_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)
  try:
    while pending or running:
      for slot, child in list(running.items()):
        status = child.process.poll()
        if status is None:
          continue
        del running[slot]
        free.append(slot)
        if status == 0 and sweeps.finished(child.run.out):
          metrics = () if child.run.pretrain else sweep['metrics']
          print(f'    {child.run.label}: {summary(child.run, metrics)} ({time.time() - child.started:.1f} s)',
                flush=True)
        else:
          fail(child.run, f'exit status {status}: {_last_line(child.log)[:300]}; log {child.log}')
      for run in list(pending):
        if not free:
          break
        failed_before = [name for name in run.waits_for if name in failed_pretraining]
        if failed_before:
          pending.remove(run)
          fail(run, f'not run: its pretraining run {failed_before[0]} failed')
        elif all(sweeps.finished(sweeps.pretrain_dir(workdir, name)) for name in run.waits_for):
          pending.remove(run)
          slot = free.pop(0)
          running[slot] = start(run, slot)
      if not running:  # What is left waits for pretraining that is neither pending nor running.
        for run in pending:
          fail(run, f'not run: its pretraining run {", ".join(run.waits_for)} has not finished')
        break
      time.sleep(POLL_SECONDS)
  except KeyboardInterrupt:
    _stop([child.process for child in running.values()])
    raise
  finally:
    signal.signal(signal.SIGTERM, previous_sigterm)
  return failures


def _stop(processes: list) -> None:
  """One SIGINT to each child; a second Ctrl-C, or STOP_SECONDS, and the ones still running are killed."""
  if not processes:
    return
  print(f'Stopping {len(processes)} runs (Ctrl-C again kills them)...', file=sys.stderr, flush=True)
  for process in processes:
    _signal(process, signal.SIGINT)
  deadline = time.time() + STOP_SECONDS
  try:
    while any(p.poll() is None for p in processes) and time.time() < deadline:
      time.sleep(POLL_SECONDS)
  except KeyboardInterrupt:
    pass
  for process in processes:
    _signal(process, signal.SIGKILL)
    process.wait()


def _signal(process: subprocess.Popen, signum: int) -> None:
  if process.poll() is None:
    try:
      os.killpg(process.pid, signum)  # The child's session: the run and anything it started.
    except ProcessLookupError:
      pass


# --- SLURM -----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SlurmOptions:
  """What each SLURM task asks for. time_min: its time limit in minutes; gpus, cpus: per task (0: the
  cluster's default); requeue: requeue on preemption and before the time limit; args: other sbatch options
  ({'account': 'x', 'qos': 'y', 'mem': '16G'}); parallelism: at most this many tasks of an array at once (0:
  no limit)."""
  partition: str = ''
  time_min: int = 240
  gpus: int = 0
  cpus: int = 0
  requeue: bool = True
  args: dict = dataclasses.field(default_factory=dict)
  parallelism: int = 0


def parse_time(value) -> int:
  """SLURM's time formats (MINUTES, MINUTES:SECONDS, H:MM:SS, D-H, D-H:MM, D-H:MM:SS) in whole minutes."""
  text = str(value).strip()
  match = re.fullmatch(r'(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?', text)
  if not match:
    raise errors.ConfigError(f'slurm time {text!r} is not a SLURM time (MINUTES, H:MM:SS or D-H:MM:SS).')
  days, first, second, third = (int(g) if g is not None else None for g in match.groups())
  if days is not None:
    seconds = days * 86400 + first * 3600 + (second or 0) * 60 + (third or 0)
  elif third is not None:
    seconds = first * 3600 + second * 60 + third
  else:
    seconds = first * 60 + (second or 0)
  if seconds <= 0:
    raise errors.ConfigError(f'slurm time {text!r} must be more than 0.')
  return -(-seconds // 60)


def parse_args(items) -> dict:
  """['account=x', 'qos=y'] (or a dict) -> {'account': 'x', 'qos': 'y'}: sbatch options without their dashes."""
  if isinstance(items, dict):
    return {str(k): str(v) for k, v in items.items()}
  out = {}
  for item in items:
    key, sep, value = item.partition('=')
    if not sep or not key.strip():
      raise errors.ConfigError(f'slurm option {item!r} is not KEY=VALUE (an sbatch option without its dashes, '
                               'e.g. account=myproject).')
    out[key.strip().lstrip('-')] = value
  return out


def slurm_options(section: dict, partition=None, time=None, gpus=None, cpus=None, requeue=None, args=None,
                  parallelism: int = 0) -> SlurmOptions:
  """The sweep's `slurm` section overridden by the flags given (None: not given); a bad value: ConfigError."""
  def pick(flag, key, default):
    return flag if flag is not None else section.get(key, default)
  counts = {key: pick(flag, key, 0) for key, flag in (('gpus', gpus), ('cpus', cpus))}
  if not all(isinstance(n, int) and n >= 0 for n in counts.values()):
    raise errors.ConfigError(f'slurm gpus and cpus must be whole numbers >= 0; got {counts["gpus"]!r} and '
                             f'{counts["cpus"]!r}.')
  return SlurmOptions(partition=str(pick(partition, 'partition', '')),
                      time_min=parse_time(pick(time, 'time', '4:00:00')), gpus=counts['gpus'], cpus=counts['cpus'],
                      requeue=bool(pick(requeue, 'requeue', True)),
                      args=dict(parse_args(section.get('args', {})), **parse_args(args or [])),
                      parallelism=parallelism)


def check_launcher(launcher: str, jobs: int, slurm_flags: list) -> None:
  """A ConfigError for a launcher, a number of jobs or SLURM flags (those given) that do not go together."""
  if launcher not in LAUNCHERS:
    raise errors.ConfigError(f'Unknown launcher {launcher!r}; choose one of: {", ".join(LAUNCHERS)}.')
  if jobs < 1:
    raise errors.ConfigError(f'--jobs must be at least 1; got {jobs}.')
  if slurm_flags and launcher != 'slurm':
    raise errors.ConfigError(f'{", ".join(slurm_flags)} {"apply" if len(slurm_flags) > 1 else "applies"} only with '
                             '--launcher=slurm.')


def check_slurm_available() -> None:
  """A ConfigError unless submitit can be imported and sbatch run."""
  try:
    import submitit  # noqa: F401
  except ImportError:
    raise errors.ConfigError("--launcher=slurm needs submitit: .venv/bin/pip install -e '.[cluster]'") from None
  if shutil.which('sbatch') is None:
    raise errors.ConfigError('--launcher=slurm needs sbatch on the PATH (submit from a SLURM login node).')


class SlurmTask:
  """One SLURM task: trains one sweep run in the job's process; submitit pickles it and its arguments.

  submitit calls checkpoint() on SLURM's warning signal (see the module docstring): returning the same call
  requeues the task, which then resumes the run from its workdir's latest checkpoint; None (requeue off)
  lets the task end there.
  """

  def __init__(self, requeue: bool = True):
    self.requeue = requeue

  def __call__(self, sweep_path: str, workdir: str, run: sweeps.Run, records: str = '',
               config_change: str = 'refuse') -> dict:
    from absl import logging
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO.
    sweep = sweeps.load_sweep(sweep_path)
    try:
      _train_when_unlocked(sweep, workdir, run, records, config_change)
    except preemption.Preempted:
      # The loop took SLURM's warning signal (submitit's handler is set aside while it trains) and saved the
      # step it reached: back to the queue, to resume from it.
      if self.requeue and os.environ.get('SLURM_JOB_ID'):
        subprocess.run(['scontrol', 'requeue', os.environ['SLURM_JOB_ID']], check=False)
      raise
    with open(os.path.join(run.out, 'results.json')) as f:
      return json.load(f)

  def checkpoint(self, *args, **kwargs):
    if not self.requeue:
      return None
    from submitit.helpers import DelayedSubmission
    return DelayedSubmission(self, *args, **kwargs)


def _train_when_unlocked(sweep: dict, workdir: str, run: sweeps.Run, records: str, config_change: str) -> None:
  """sweep.train_run; a workdir still locked by this task's previous attempt (killed on another node, so its
  lock cannot be seen to be dead) is waited for until its lock goes stale (training/workdir.py)."""
  from training import workdir as workdir_files
  deadline = time.time() + workdir_files.STALE_SECONDS + 2 * workdir_files.HEARTBEAT_SECONDS
  while True:
    try:
      return sweeps.train_run(sweep, workdir, run, quiet=False, records=records, config_change=config_change)
    except errors.WorkdirError as e:
      if time.time() > deadline or not os.path.exists(os.path.join(run.out, workdir_files.LOCK_FILE)):
        raise
      print(f'{e} Waiting for it...', file=sys.stderr, flush=True)
      time.sleep(workdir_files.HEARTBEAT_SECONDS)


def _ledger(workdir: str) -> str:
  return os.path.join(workdir, LOG_DIR, 'slurm', 'submitted.jsonl')


def queued_runs(workdir: str) -> dict:
  """{run workdir: job id} of the runs submitted from this workdir whose task is still in squeue."""
  path = _ledger(workdir)
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    submitted = {}
    for line in f:
      if line.strip():
        record = json.loads(line)
        submitted[os.path.join(workdir, record['run'])] = record['job']
  try:
    listed = subprocess.run(['squeue', '-h', '-r', '-o', '%i'], capture_output=True, text=True, check=True,
                            timeout=60).stdout.split()
  except (OSError, subprocess.SubprocessError) as e:
    detail = getattr(e, 'stderr', '') or e
    raise errors.UserError(f'squeue failed, so the runs already queued cannot be told apart: {detail}'.strip())
  live = set(listed)
  return {out: job for out, job in submitted.items() if job in live}


@dataclasses.dataclass
class Submission:
  """What submit_slurm did: (job id, what it runs) per job or array; the number of runs submitted and of those
  left out as already queued; submitit's folder (scripts, logs)."""
  jobs: list
  runs: int
  already_queued: int
  folder: str


def submit_slurm(sweep_path: str, workdir: str, runs: list, options: SlurmOptions, records: str = '',
                 config_change: str = 'refuse', job_name: str = 'seqlab') -> Submission:
  """Submits the unfinished `runs` (a sweep.plan) that are not already queued (see the module docstring)."""
  import submitit
  workdir, runs = _absolute(workdir, runs)
  queued = queued_runs(workdir)
  pending = [run for run in runs if not sweeps.finished(run.out) and run.out not in queued]
  folder = os.path.join(workdir, LOG_DIR, 'slurm')
  submission = Submission([], len(pending), sum(run.out in queued for run in runs), folder)
  if not pending:
    return submission
  executor = submitit.SlurmExecutor(folder=os.path.join(folder, '%j'), max_num_timeout=3)
  extra = dict(options.args, requeue=True) if options.requeue else dict(options.args, **{'no-requeue': True})
  parameters = dict(job_name=job_name, time=options.time_min, partition=options.partition or None,
                    cpus_per_task=options.cpus or None, gpus_per_task=options.gpus or None,
                    stderr_to_stdout=True)
  task = SlurmTask(options.requeue)
  arguments = (os.path.abspath(sweep_path), workdir)
  ledger = []

  def submit(group: list, dependency: str = ''):
    executor.update_parameters(**{k: v for k, v in parameters.items() if v is not None},
                               array_parallelism=options.parallelism or len(group),
                               additional_parameters=dict(extra, **({'dependency': dependency,
                                                                     'kill-on-invalid-dep': 'yes'}
                                                                    if dependency else {})))
    with executor.batch():
      jobs = [executor.submit(task, *arguments, run, os.path.abspath(records) if records else '', config_change)
              for run in group]
    ledger.extend({'run': os.path.relpath(run.out, workdir), 'job': job.job_id} for run, job in zip(group, jobs))
    return jobs[0].job_id.split('_')[0]

  try:
    pretraining = {run.pretrain: queued[run.out] for run in runs if run.pretrain and run.out in queued}
    after = lambda run: ':'.join(pretraining[name] for name in run.waits_for if name in pretraining)
    for run in pending:  # In the plan's order: a pretraining run after the one it starts from.
      if run.pretrain:
        pretraining[run.pretrain] = submit([run], f'afterok:{after(run)}' if after(run) else '')
        submission.jobs.append((pretraining[run.pretrain], run.name))
    groups = {}  # The pretraining jobs a run waits for ('' for none) -> its runs.
    for run in pending:
      if not run.pretrain:
        groups.setdefault(after(run), []).append(run)
    for after_jobs, group in groups.items():
      job = submit(group, f'afterok:{after_jobs}' if after_jobs else '')
      what = f'an array of {len(group)} runs' if len(group) > 1 else group[0].name
      submission.jobs.append((job, what + (f', after job {after_jobs}' if after_jobs else '')))
  except submitit.core.utils.FailedJobError as e:
    raise errors.UserError(f'sbatch failed: {" ".join(str(e).split())[-500:]}') from None
  finally:
    if ledger:
      os.makedirs(folder, exist_ok=True)
      with open(_ledger(workdir), 'a') as f:
        f.writelines(json.dumps(record) + '\n' for record in ledger)
  return submission


def main(argv=None) -> None:
  """A child of run_local: trains one run, as ablate.py would (the same errors and exit statuses)."""
  parser = argparse.ArgumentParser(description='Trains one run of a sweep (started by ablate.py --jobs=N).')
  parser.add_argument('--sweep', required=True)
  parser.add_argument('--workdir', required=True)
  parser.add_argument('--run', required=True, help='The run, as JSON (sweep.Run\'s fields).')
  parser.add_argument('--records', default='')
  parser.add_argument('--config_change', default='refuse')
  parser.add_argument('--verbose', action='store_true')
  args = parser.parse_args(argv)
  from absl import logging
  from training import cli
  logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO.
  run = sweeps.Run(**json.loads(args.run))
  cli.run(lambda: sweeps.train_run(sweeps.load_sweep(args.sweep), args.workdir, run, quiet=False,
                                   records=args.records, config_change=args.config_change),
          verbose=args.verbose, on_interrupt=f'{run.out!r} resumes from its last checkpoint')


if __name__ == '__main__':
  main()
