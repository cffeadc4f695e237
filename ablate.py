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
"""
import os
import time

from absl import app
from absl import flags
from absl import logging

from training import cli
from training import sweep as sweeps

flags.DEFINE_string('sweep', None, 'Sweep file, configs/ablations/NAME.py.')
flags.DEFINE_string('workdir', None, 'Directory for the runs and the tables.')
flags.DEFINE_integer('seeds', 0, 'Seeds per row; 0 = the sweep file\'s number.')
flags.DEFINE_bool('verbose', False, 'Show each run\'s output and progress bar.')
flags.DEFINE_bool('table_only', False, 'Write the tables of the finished runs; train nothing.')
flags.DEFINE_list('rows', [], 'Train only these rows of the sweep (names, comma-separated); the tables list all.')
flags.DEFINE_integer('first_seed', 0, 'Train seeds from this one on only (the earlier ones trained elsewhere); '
                     'the tables count every finished seed.')
flags.DEFINE_bool('pretrain_only', False, 'Train only the pretraining runs of the (chosen) rows; no row.')
flags.DEFINE_string('records', '', 'Folder of finished runs\' records to sync with the workdir (see above).')
flags.DEFINE_enum('config_change', 'refuse', ['refuse', 'allow'],
                  'An unfinished run whose config differs from its config.json: refuse, or allow (recorded there).')
flags.mark_flags_as_required(['sweep', 'workdir'])
FLAGS = flags.FLAGS


def _train() -> dict:
  """Loads the sweep and trains what it lacks (nothing with --table_only); the sweep."""
  sweep = sweeps.load_sweep(FLAGS.sweep)
  os.makedirs(FLAGS.workdir, exist_ok=True)
  if FLAGS.table_only and FLAGS.records:
    sweeps.sync_records(FLAGS.workdir, FLAGS.records)
  if not FLAGS.table_only:
    sweeps.run_sweep(sweep, FLAGS.workdir, FLAGS.seeds, quiet=not FLAGS.verbose, rows=FLAGS.rows,
                     pretrain_only=FLAGS.pretrain_only, first_seed=FLAGS.first_seed, records=FLAGS.records,
                     config_change=FLAGS.config_change)
  return sweep


def main(argv):
  if len(argv) > 1:
    cli.fail(f'unexpected arguments {argv[1:]}; flags look like --name=value.')
  logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO.
  start = time.time()
  sweep = cli.run(_train, on_interrupt='finished runs are kept; the same command resumes the sweep')
  table = sweeps.collect(sweep, FLAGS.workdir, FLAGS.seeds)
  sweeps.write_tables(sweep, table, FLAGS.workdir)
  sweeps.write_curves(sweep, FLAGS.workdir, FLAGS.seeds)
  for name in ('table.md', 'table_by_task.md'):
    if os.path.exists(os.path.join(FLAGS.workdir, name)):
      with open(os.path.join(FLAGS.workdir, name)) as f:
        print(f.read())
  if not FLAGS.table_only:
    print(f'Sweep took {time.time() - start:.0f} s; tables and curves in {FLAGS.workdir}.')


if __name__ == '__main__':
  app.run(main)
