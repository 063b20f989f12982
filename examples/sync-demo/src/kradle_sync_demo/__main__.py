"""``python -m kradle_sync_demo``: run the end-to-end demo."""

import sys

from kradle_sync_demo.demo import main

sys.exit(main())
