"""Checks of config values, shared by every later step of the data flow (data, models, tasks, training)."""


def check_choice(value, choices, key: str):
  """value if it is one of choices; else a ValueError naming the key, the value and every choice, in order."""
  if value not in choices:
    # An empty string is a choice too (data.clean=''): shown quoted so the list does not hide it.
    shown = ', '.join("''" if choice == '' else str(choice) for choice in choices)
    raise ValueError(f'Unknown {key} {value!r}; choose one of: {shown}.')
  return value
