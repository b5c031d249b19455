"""``python -m nas_service.report``: kept for scripts and ``ray job submit``; the same command as
``stagewise-nas report`` (``nas_service.cli.report``)."""

import sys

from nas_service.cli.report import main

if __name__ == "__main__":
    sys.exit(main())
