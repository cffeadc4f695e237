"""Per-task loss, metrics and evaluation, reached through `tasks.build(config)`."""
from tasks import regression  # noqa: F401  (registers its task)
from tasks import lm  # noqa: F401
from tasks import translation  # noqa: F401
from tasks import classification  # noqa: F401
from tasks import trees  # noqa: F401
from tasks import tagging  # noqa: F401
from tasks.registry import build, names  # noqa: F401
