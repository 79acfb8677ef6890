"""``python -m sopbench``."""

import sys

from sopbench.cli import main

sys.exit(main())
