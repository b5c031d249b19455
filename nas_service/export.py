"""``python -m nas_service.export``: kept for scripts and ``ray job submit``; the same command as
``stagewise-nas export`` (``nas_service.cli.export``)."""

import sys

from nas_service.cli.export import main

if __name__ == "__main__":
    sys.exit(main())
