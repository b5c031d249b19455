"""``python -m nas_service.compare``: kept for scripts and ``ray job submit``; the same command as
``stagewise-nas compare`` (``nas_service.cli.compare``)."""

import sys

from nas_service.cli.compare import main

if __name__ == "__main__":
    sys.exit(main())
