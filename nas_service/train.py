"""``python -m nas_service.train``: kept for scripts and ``ray job submit``; the same command as
``stagewise-nas train`` (``nas_service.cli.train``)."""

import sys

from nas_service.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
