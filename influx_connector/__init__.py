"""influx-connector: a declarative InfluxDB data source for low-code host apps."""
