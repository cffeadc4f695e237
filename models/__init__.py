"""Pure architectures, reached through `models.build(config.model)`."""
from models import classifiers  # noqa: F401  (registers its models)
from models import forecasters  # noqa: F401
from models import kim_cnn  # noqa: F401
from models import lm  # noqa: F401
from models import ngram  # noqa: F401
from models import seq2seq  # noqa: F401
from models import transformer  # noqa: F401
from models.registry import build, is_count_based, names  # noqa: F401
