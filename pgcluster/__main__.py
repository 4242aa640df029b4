"""``python -m pgcluster``: the same as the ``pgcluster`` command."""

import sys

from .cli import main

sys.exit(main())
