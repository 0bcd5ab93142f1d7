"""``python -m dashboard.cli``: the ``proofboard`` command."""

import sys

from dashboard.cli.entry import main

sys.exit(main())
