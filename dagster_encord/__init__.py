"""dagster-encord: register cloud-bucket data in Encord with Dagster."""
