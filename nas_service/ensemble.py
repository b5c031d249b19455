"""``python -m nas_service.ensemble``: kept for scripts and ``ray job submit``; the same command as
``stagewise-nas ensemble`` (``nas_service.cli.ensemble``)."""

import sys

from nas_service.cli.ensemble import main

if __name__ == "__main__":
    sys.exit(main())
