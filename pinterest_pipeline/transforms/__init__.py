"""Pure PySpark transforms: no Dagster imports, DataFrame API and Spark SQL only.

* :mod:`.io`: read the landing zone, write/read warehouse tables atomically.
* :mod:`.clean`: one landing partition -> clean rows, quarantine, counts.
* :mod:`.insights`: the nine insight tables as Spark SQL.
* :mod:`.validation`: pandera checks on clean tables, the insight check.

Local Spark, Spark Connect and Databricks jobs call the same functions.
"""
