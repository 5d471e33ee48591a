"""``python -m chaos``: the same as the ``wschaos`` console script."""

import sys

from chaos.cli import main

sys.exit(main())
