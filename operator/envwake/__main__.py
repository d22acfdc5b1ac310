"""``python -m envwake``: the same as the ``envwake`` command."""

import sys

from envwake.cli.main import main

sys.exit(main())
