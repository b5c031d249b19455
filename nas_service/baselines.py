"""``python -m nas_service.baselines``: kept for scripts and ``ray job submit``; the same command as
``stagewise-nas baselines`` (``nas_service.cli.baselines``)."""

import sys

from nas_service.cli.baselines import main

if __name__ == "__main__":
    sys.exit(main())
