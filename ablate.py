"""Runs a sweep (every row for N seeds) and writes table.md, table.csv and curves.png (and table_by_task.*).

  python ablate.py --sweep=configs/ablations/timeseries.py --workdir=runs/ablate/timeseries [--seeds=3] [--rows=A,B]
      [--first_seed=S] [--records=results/timeseries]

Re-running with the same workdir skips finished runs and resumes unfinished ones. --table_only writes
the tables of the runs finished so far (a seed counts once all its folds have) and trains nothing, so a
long sweep can be read while it runs. --pretrain_only trains only the pretraining runs the rows start from
(in WORKDIR/pretrain/NAME), so a fine-tuning recipe can be chosen on dev before the rows run.
--records=DIR keeps a checkpoint-free copy of every finished run in DIR (small enough to commit) and
copies the ones the workdir lacks in first, so a sweep goes on from a fresh machine and its tables
can be rebuilt from DIR alone (--table_only --workdir=DIR).

--jobs=N trains N runs at once in child processes on this host (each on its share of the CPUs; a run that
starts from a pretraining run waits for it; a failed run is reported and the others go on; exit status 1 if
any failed). --launcher=slurm submits every unfinished run as a SLURM array task through submitit (the
pretraining runs first, the arrays of the rows that start from them waiting for them) and returns; the same
command with --table_only collects. See training/launchers.py.

  python ablate.py --sweep=... --workdir=... --launcher=slurm [--slurm_partition=gpu --slurm_time=4:00:00
      --slurm_gpus=1 --slurm_cpus=8 --slurm_args=account=abc,qos=high --jobs=MAX_AT_ONCE]
"""
import os
import shlex
import sys
import time

from absl import app
from absl import flags
from absl import logging

from training import cli
from training import launchers
from training import sweep as sweeps

flags.DEFINE_string('sweep', None, 'Sweep file, configs/ablations/NAME.py.')
flags.DEFINE_string('workdir', None, 'Directory for the runs and the tables.')
flags.DEFINE_integer('seeds', 0, 'Seeds per row; 0 = the sweep file\'s number.')
flags.DEFINE_bool('verbose', False, 'Show each run\'s output and progress bar (with --jobs > 1: each run\'s '
                  'output is in WORKDIR/logs; --verbose adds tracebacks there).')
flags.DEFINE_bool('table_only', False, 'Write the tables of the finished runs; train nothing.')
flags.DEFINE_list('rows', [], 'Train only these rows of the sweep (names, comma-separated); the tables list all.')
flags.DEFINE_integer('first_seed', 0, 'Train seeds from this one on only (the earlier ones trained elsewhere); '
                     'the tables count every finished seed.')
flags.DEFINE_bool('pretrain_only', False, 'Train only the pretraining runs of the (chosen) rows; no row.')
flags.DEFINE_string('records', '', 'Folder of finished runs\' records to sync with the workdir (see above).')
flags.DEFINE_enum('config_change', 'refuse', ['refuse', 'allow'],
                  'An unfinished run whose config differs from its config.json: refuse, or allow (recorded there).')
flags.DEFINE_enum('launcher', 'local', launchers.LAUNCHERS,
                  'Where the runs train: local (this host, --jobs at once), or slurm (one array task each, submitted '
                  'through submitit; returns after submitting).')
flags.DEFINE_integer('jobs', 1, 'local: runs trained at once, in child processes (1: one after another, in this '
                     'process); slurm: at most this many array tasks at once (default: no limit).')
flags.DEFINE_string('slurm_partition', None, 'SLURM partition (default: the sweep\'s slurm.partition, or the '
                    'cluster\'s default).')
flags.DEFINE_string('slurm_time', None, 'Time limit of each task: MINUTES, H:MM:SS or D-H:MM:SS (default: the '
                    'sweep\'s slurm.time, or 4:00:00).')
flags.DEFINE_integer('slurm_gpus', None, 'GPUs per task (default: the sweep\'s slurm.gpus, or none).')
flags.DEFINE_integer('slurm_cpus', None, 'CPUs per task (default: the sweep\'s slurm.cpus, or the cluster\'s).')
flags.DEFINE_bool('slurm_requeue', None, 'Requeue a task that is preempted or reaches its time limit; it resumes '
                  'from its checkpoint (default: the sweep\'s slurm.requeue, or true).')
flags.DEFINE_list('slurm_args', None, 'Other sbatch options, KEY=VALUE,... (e.g. account=abc,qos=high,mem=16G), '
                  'added to the sweep\'s slurm.args.')
flags.mark_flags_as_required(['sweep', 'workdir'])
FLAGS = flags.FLAGS
SLURM_FLAGS = ('slurm_partition', 'slurm_time', 'slurm_gpus', 'slurm_cpus', 'slurm_requeue', 'slurm_args')


def parse_flags(argv):
  """absl's parsing, a bad flag or value in one `error: ...` line with exit status 2."""
  try:
    return FLAGS(argv)
  except flags.Error as e:
    cli.fail(f'{" ".join(str(e).split())} (--helpshort lists the flags)')


def _slurm_options(section: dict) -> launchers.SlurmOptions:
  return launchers.slurm_options(section, FLAGS.slurm_partition, FLAGS.slurm_time, FLAGS.slurm_gpus,
                                 FLAGS.slurm_cpus, FLAGS.slurm_requeue, FLAGS.slurm_args,
                                 parallelism=FLAGS.jobs if FLAGS['jobs'].present else 0)


def _check_flags() -> None:
  """The launcher flags' mistakes, before anything is read or written."""
  launchers.check_launcher(FLAGS.launcher, FLAGS.jobs, [f'--{n}' for n in SLURM_FLAGS if FLAGS[n].present])
  if FLAGS.launcher == 'slurm' and not FLAGS.table_only:
    launchers.check_slurm_available()
    _slurm_options({})


def _train():
  """Loads the sweep and trains what it lacks (nothing with --table_only). Returns the sweep and the runs that
  failed (a list of lines) or, with --launcher=slurm, the Submission."""
  sweep = sweeps.load_sweep(FLAGS.sweep)
  os.makedirs(FLAGS.workdir, exist_ok=True)
  if FLAGS.table_only:
    if FLAGS.records:
      sweeps.sync_records(FLAGS.workdir, FLAGS.records)
    return sweep, []
  if FLAGS.launcher == 'local' and FLAGS.jobs == 1:
    sweeps.run_sweep(sweep, FLAGS.workdir, FLAGS.seeds, quiet=not FLAGS.verbose, rows=FLAGS.rows,
                     pretrain_only=FLAGS.pretrain_only, first_seed=FLAGS.first_seed, records=FLAGS.records,
                     config_change=FLAGS.config_change)
    return sweep, []
  options = _slurm_options(sweep.get('slurm', {})) if FLAGS.launcher == 'slurm' else None

  def plan():
    return sweeps.plan(sweep, FLAGS.workdir, FLAGS.seeds, FLAGS.rows, FLAGS.pretrain_only, FLAGS.first_seed)

  plan()  # Refuses unknown rows and seeds before the records are touched.
  if FLAGS.records:
    sweeps.sync_records(FLAGS.workdir, FLAGS.records)
  if options:
    name = os.path.splitext(os.path.basename(FLAGS.sweep))[0]
    return sweep, launchers.submit_slurm(FLAGS.sweep, FLAGS.workdir, plan(), options, FLAGS.records,
                                         FLAGS.config_change, job_name=f'seqlab_{name}')
  return sweep, launchers.run_local(sweep, FLAGS.sweep, FLAGS.workdir, plan(), FLAGS.jobs, FLAGS.records,
                                    FLAGS.config_change, FLAGS.verbose)


def _print_submission(submission: launchers.Submission) -> None:
  collect = ['python', sys.argv[0], f'--sweep={FLAGS.sweep}', f'--workdir={FLAGS.workdir}']
  collect += ([f'--seeds={FLAGS.seeds}'] if FLAGS.seeds else []) + (
      [f'--records={FLAGS.records}'] if FLAGS.records else []) + ['--table_only']
  if submission.already_queued:
    print(f'{submission.already_queued} runs are already queued or running; not submitted again.')
  if not submission.jobs:
    print('Nothing to submit: every run has finished or is queued.')
  for job, what in submission.jobs:
    print(f'Submitted SLURM job {job}: {what}.')
  if submission.jobs:
    ids = ','.join(job for job, _ in submission.jobs)
    print(f'{submission.runs} runs submitted; follow them with `squeue -j {ids}` (logs in {submission.folder}).')
  print(f'Collect the finished runs with: {shlex.join(collect)}')


def main(argv):
  if len(argv) > 1:
    cli.fail(f'unexpected arguments {argv[1:]}; flags look like --name=value.')
  logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO.
  start = time.time()
  cli.run(_check_flags)
  sweep, outcome = cli.run(_train, on_interrupt='finished runs are kept; the same command resumes the sweep')
  if isinstance(outcome, launchers.Submission):
    _print_submission(outcome)
    return
  table = sweeps.collect(sweep, FLAGS.workdir, FLAGS.seeds)
  sweeps.write_tables(sweep, table, FLAGS.workdir)
  sweeps.write_curves(sweep, FLAGS.workdir, FLAGS.seeds)
  for name in ('table.md', 'table_by_task.md'):
    if os.path.exists(os.path.join(FLAGS.workdir, name)):
      with open(os.path.join(FLAGS.workdir, name)) as f:
        print(f.read())
  if not FLAGS.table_only:
    print(f'Sweep took {time.time() - start:.0f} s; tables and curves in {FLAGS.workdir}.')
  if outcome:
    cli.fail(f'{len(outcome)} run{"s" if len(outcome) > 1 else ""} failed: {"; ".join(outcome)}. The same command '
             f'trains {"them" if len(outcome) > 1 else "it"} again.', status=1)


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
