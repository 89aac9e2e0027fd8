"""``python -m agentpatterns.cli`` (as ``python -m agentpatterns``)."""

import sys

from agentpatterns.cli import main

if __name__ == "__main__":
    sys.exit(main())
