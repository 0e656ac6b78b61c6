"""``python -m ecgdl <command> [overrides]``: the same as the installed ``ecgdl`` command (:mod:`ecgdl.cli`)."""

import sys

from ecgdl.cli import main

if __name__ == "__main__":
    sys.exit(main())
