import sys

from leaderboard.build import main

sys.exit(main())
