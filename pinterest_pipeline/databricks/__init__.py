"""What runs on a Databricks cluster: the job entrypoint (``pinterest-pipeline-databricks``)."""
