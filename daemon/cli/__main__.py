"""``python -m genrecast.daemon.cli``: the same as the ``genrecast`` console script."""

from __future__ import annotations

import sys

from genrecast.daemon.cli.main import main

sys.exit(main())
