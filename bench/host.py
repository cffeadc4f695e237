"""Facts about the machine a benchmark ran on, for the figures to name."""


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
