"""``python -m ecgdl.leaderboard <runs folder> --out <folder>``: see :mod:`ecgdl.leaderboard`."""

import sys

from ecgdl.leaderboard import main

sys.exit(main())
