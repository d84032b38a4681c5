import sys

from pigskin.cli import main

sys.exit(main())
