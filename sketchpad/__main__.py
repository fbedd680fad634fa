import sys

from sketchpad.cli import main

sys.exit(main())
