import sys

from kkr_geo.cli import main

sys.exit(main())
