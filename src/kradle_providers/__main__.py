import sys

from kradle_providers.cli import main

sys.exit(main())
