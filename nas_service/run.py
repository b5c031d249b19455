"""``python -m nas_service.run``: kept for scripts and ``ray job submit``; the same command as
``stagewise-nas run`` (``nas_service.cli.run``)."""

import sys

from nas_service.cli.run import main

if __name__ == "__main__":
    sys.exit(main())
