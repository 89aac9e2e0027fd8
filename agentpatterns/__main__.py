"""``python -m agentpatterns``: the same command line as the ``agentpatterns`` script."""

import sys

from agentpatterns.cli import main

if __name__ == "__main__":
    sys.exit(main())
