"""Facts about the machine a benchmark ran on, for the figures to name, and the medians its rounds report."""
import statistics


def processor_name() -> str:
  """/proc/cpuinfo's 'model name' (the host processor), or '' where there is none."""
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return ''


def medians(results: dict, keys: tuple) -> dict:
  """{peer: [one dict per round]} -> {peer: {key: the median over the rounds}}."""
  return {peer: {k: statistics.median(run[k] for run in runs) for k in keys} for peer, runs in results.items()}
