import sys

from batchyard.runner.main import main

sys.exit(main(sys.argv[1:]))
