"""`python -m origin_handler.cli`: the same as the `image-origin` script."""

import sys

from . import main

sys.exit(main())
