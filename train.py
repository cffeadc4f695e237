"""Trains one config into one workdir; running it again resumes.

  python train.py --config=configs/timeseries/deep_rnn_dense.py --workdir=runs/deep_rnn_dense \
      [--config.optimizer.learning_rate=3e-3 ...]
"""
import traceback

from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

from training import cli
from training import config_loading
from training import loop

config_flags.DEFINE_config_file('config', None, 'Config file, path/to/config.py[:ARG].', lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for checkpoints, metrics and results.')
# Multi-host: every process runs this same command with its own --process_id (or under a launcher
# jax.distributed detects by itself: SLURM, Open MPI, TPU pods; then pass --distributed).
flags.DEFINE_bool('distributed', False, 'Start jax.distributed, auto-detecting the cluster from the environment.')
flags.DEFINE_string('coordinator_address', '', 'host:port of process 0; implies --distributed.')
flags.DEFINE_integer('num_processes', 0, 'Processes in the run (with --coordinator_address).')
flags.DEFINE_integer('process_id', -1, 'This process, 0..num_processes-1 (with --coordinator_address).')
flags.DEFINE_enum('config_change', 'refuse', ['refuse', 'allow'],
                  'A resumed run whose config differs from its config.json: refuse, or allow (recorded there).')
flags.DEFINE_bool('verbose', False, 'Show the traceback of an error, not just its one-line message.')
flags.mark_flags_as_required(['config', 'workdir'])
FLAGS = flags.FLAGS


def parse_flags(argv):
  """absl's parsing, every problem (an unknown flag or --config.KEY, a missing or broken config file) in
  one line instead of a traceback."""
  try:
    argv = FLAGS(argv)
    FLAGS.config.to_dict()  # ml_collections reports a missing or broken config file only when it is read.
    return argv
  except OSError as e:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    cli.fail(f'cannot load the --config file: {lines[-1]}')
  except flags.Error as e:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    # A broken config file arrives with its traceback; its first and last lines say what broke.
    message = f'{lines[0]} {lines[-1]}' if 'Traceback' in str(e) else ' '.join(lines)
    cli.fail(f'{message} (--helpshort lists the flags)')
  except (AttributeError, KeyError, ValueError, TypeError) as e:
    try:
      explained = config_loading.explain_flag_overrides(argv[1:])
    except Exception as load_error:  # The config file itself is broken; say so.
      explained = f'{type(load_error).__name__}: {load_error}'
    cli.fail(explained or str(e))
  except Exception as e:  # The config file's own code raised (a syntax error, a bug in get_config).
    if '--verbose' in argv:
      raise
    frame = traceback.extract_tb(e.__traceback__)[-1]
    where = f'{e.filename}, line {e.lineno}' if isinstance(e, SyntaxError) else f'{frame.filename}, line {frame.lineno}'
    cli.fail(f'the --config file failed to load: {type(e).__name__}: {getattr(e, "msg", e)} ({where}); '
             '--verbose shows the traceback')


def main(argv):
  logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO.
  if len(argv) > 1:
    cli.fail(f'unexpected arguments {argv[1:]}; flags look like --name=value.')
  if FLAGS.coordinator_address:
    if FLAGS.num_processes < 1 or not 0 <= FLAGS.process_id < FLAGS.num_processes:
      cli.fail(f'--coordinator_address needs --num_processes >= 1 and 0 <= --process_id < num_processes; '
               f'got {FLAGS.num_processes} and {FLAGS.process_id}.')
    jax.distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
  elif FLAGS.distributed:
    jax.distributed.initialize()
  cli.run(loop.train_and_evaluate, FLAGS.config, FLAGS.workdir, FLAGS.config_change, verbose=FLAGS.verbose,
          on_interrupt=f'the same command resumes {FLAGS.workdir!r} from its last checkpoint')


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
