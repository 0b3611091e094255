"""influx-connector: a declarative InfluxDB data source for low-code host apps."""

__version__ = "0.1.0"  # kept equal to pyproject.toml's version (a packaging test checks it)
