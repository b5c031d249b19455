"""``python -m nas_service <command>``: the same as ``stagewise-nas <command>``."""

import sys

from nas_service.cli.main import main

sys.exit(main())
