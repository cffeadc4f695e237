"""Simple properties of a text, one number per character, to correlate LSTM cells with (show_cells.py).

Each property maps a text of T characters to a float64 array (T,). The value at t describes the text as it
stands once character t has been read (what a cell could have computed by then), except `chars_to_newline`
and `vowel_next`, which describe what comes next (what a cell could be predicting). Karpathy, Johnson &
Fei-Fei (2015) found cells for quotes, brackets and line length in War and Peace and the Linux kernel;
Tiny Shakespeare has no double quotes, parentheses or brackets at all, so those two properties are constant
there (and have no correlation), and its speaker-name lines stand in for structure.
"""
import re

import numpy as np

_OPEN_BRACKETS, _CLOSE_BRACKETS = '([{', ')]}'
_VOWELS = frozenset('aeiouAEIOU')
# A speaker's name alone on a line in capitals: 'KING RICHARD III:', 'LADY CAPULET:' (not 'Tailor:').
_SPEAKER = re.compile(r"[A-Z][A-Z '.\-]*[A-Z.]:")


def in_quotes(text: str) -> np.ndarray:
  """1 from an opening double quote up to (not including) the character after its closing quote. A
  straight quote '"' opens or closes by parity; curly quotes open (U+201C) and close (U+201D)."""
  out, inside = np.zeros(len(text)), False
  for t, ch in enumerate(text):
    if ch == '"':
      inside = not inside
    elif ch == '\u201c':
      inside = True
    elif ch == '\u201d':
      inside = False
    out[t] = inside
  return out


def in_brackets(text: str) -> np.ndarray:
  """1 while at least one of ( [ { is open once character t is read (an unmatched closer opens nothing)."""
  out, depth = np.zeros(len(text)), 0
  for t, ch in enumerate(text):
    if ch in _OPEN_BRACKETS:
      depth += 1
    elif ch in _CLOSE_BRACKETS:
      depth = max(depth - 1, 0)
    out[t] = depth > 0
  return out


def line_position(text: str) -> np.ndarray:
  """Characters read since the last newline: 0 at a newline, 1 at the first character of a line (the text
  starts as if after a newline)."""
  out, position = np.zeros(len(text)), 0
  for t, ch in enumerate(text):
    position = 0 if ch == '\n' else position + 1
    out[t] = position
  return out


def chars_to_newline(text: str) -> np.ndarray:
  """Characters from t to the next newline after it: 1 when character t + 1 is a newline (the end of the
  text counts as one)."""
  out, next_newline = np.zeros(len(text)), len(text)
  for t in range(len(text) - 1, -1, -1):
    out[t] = next_newline - t
    if text[t] == '\n':
      next_newline = t
  return out


def speaker_line(text: str) -> np.ndarray:
  """1 on the characters of a line that is a speaker's name in capitals ending in ':' ('KING RICHARD III:'),
  its newline excluded."""
  out, start = np.zeros(len(text)), 0
  for line in text.split('\n'):
    if _SPEAKER.fullmatch(line):
      out[start:start + len(line)] = 1
    start += len(line) + 1
  return out


def vowel_next(text: str) -> np.ndarray:
  """1 when the next character is a vowel (a e i o u, either case); 0 at the last character."""
  return np.array([float(text[t + 1] in _VOWELS) if t + 1 < len(text) else 0.0 for t in range(len(text))])


def whitespace(text: str) -> np.ndarray:
  """1 at spaces, newlines and other whitespace."""
  return np.array([float(ch.isspace()) for ch in text])


def word_position(text: str) -> np.ndarray:
  """Letters read since the current word began: 1 at a word's first letter, 0 at anything not a letter."""
  out, run = np.zeros(len(text)), 0
  for t, ch in enumerate(text):
    run = run + 1 if ch.isalpha() else 0
    out[t] = run
  return out


PROPERTIES = {
    'in_quotes': in_quotes,
    'in_brackets': in_brackets,
    'line_position': line_position,
    'chars_to_newline': chars_to_newline,
    'speaker_line': speaker_line,
    'vowel_next': vowel_next,
    'whitespace': whitespace,
    'word_position': word_position,
}


def properties(text: str) -> dict:
  """{name: (T,) array} of every property."""
  return {name: fn(text) for name, fn in PROPERTIES.items()}
