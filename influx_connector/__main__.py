"""``python -m influx_connector``: the same command line as the ``influx-connector`` script."""
import sys

from influx_connector.cli import main

if __name__ == "__main__":
    sys.exit(main())
