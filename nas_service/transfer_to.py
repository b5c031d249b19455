"""``python -m nas_service.transfer_to``: kept for scripts and ``ray job submit``; the same command as
``stagewise-nas transfer-to`` (``nas_service.cli.transfer_to``)."""

import sys

from nas_service.cli.transfer_to import main

if __name__ == "__main__":
    sys.exit(main())
