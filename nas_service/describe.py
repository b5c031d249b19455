"""``python -m nas_service.describe``: kept for scripts and ``ray job submit``; the same command as
``stagewise-nas describe`` (``nas_service.cli.describe``)."""

import sys

from nas_service.cli.describe import main

if __name__ == "__main__":
    sys.exit(main())
