"""Config fields renamed or added since runs were recorded: a workdir's config.json written before a rename
is read under today's names, so its model rebuilds (sample.py, translate.py), and neither a rename nor a
field added with the behaviour runs had before makes a resumed run look like a changed config."""

# Old dotted key -> new one.
RENAMED = {
    'model.hidden': 'model.hidden_size',  # One recurrent width is hidden_size everywhere (a stack: hidden_sizes).
    'model.scan_unroll': 'model.unroll',  # The name models/rnn.py's layers use.
}

# Dotted key -> the value that reproduces what runs recorded before the field existed.
ADDED = {
    'data.train_path': '', 'data.valid_path': '', 'data.test_path': '', 'data.cache_dir': '',
    # A prefix of 10M characters is all of every training text recorded before (Tiny Shakespeare's is 1M).
    'data.tokenizer_sample_chars': 10_000_000,
    # Every model computed in float32 before model.dtype (models/precision.py) reached all of them.
    'model.dtype': 'float32',
    'train.grad_accum_steps': 1,
    'profile.start_step': 10, 'profile.num_steps': 0, 'eval.num_batches': 0,
    'log.wandb_project': '', 'log.wandb_mode': 'online',
}


def upgrade(config_dict: dict) -> dict:
  """config_dict (as json.load gives config.json) with each renamed field moved to its new name."""
  upgraded = dict(config_dict)
  for old, new in RENAMED.items():
    (section, old_key), (new_section, new_key) = old.split('.'), new.split('.')
    fields = upgraded.get(section)
    if isinstance(fields, dict) and old_key in fields and section == new_section and new_key not in fields:
      fields = dict(fields)
      fields[new_key] = fields.pop(old_key)
      upgraded[section] = fields
  return upgraded
