import sys

from streammatrix.cli import main

sys.exit(main())
