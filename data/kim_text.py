"""The text preprocessing of Kim's (2014) code (process_data.py `clean_str`), the normalizer data.clean='kim'.

Registered with data.labeled's normalizers when imported (tasks/classification.py imports it).
"""
import re

from data import labeled

_DROPPED = re.compile(r"[^A-Za-z0-9(),!?'`]")
_CLITIC = re.compile(r"('s|'ve|n't|'re|'d|'ll)\b")
_PUNCT = re.compile(r'([,!?()])')


@labeled.register_normalizer('kim')
def clean_str(text: str) -> str:
  """Every character but ASCII letters, digits and ( ) , ! ? ' ` becomes a space (so "re-imagining" is two
  words and periods go), the clitics 's 've n't 're 'd 'll and the kept punctuation become words of their
  own, and the text is lower-cased."""
  text = _DROPPED.sub(' ', text)
  text = _CLITIC.sub(r' \1', text)
  text = _PUNCT.sub(r' \1 ', text)
  return ' '.join(text.lower().split())
