"""``python -m nas_service.prepare_data``: kept for scripts and ``ray job submit``; the same
command as ``stagewise-nas prepare-data`` (``nas_service.cli.prepare_data``)."""

import sys

from nas_service.cli.prepare_data import main

if __name__ == "__main__":
    sys.exit(main())
