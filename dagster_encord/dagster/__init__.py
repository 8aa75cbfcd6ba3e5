"""dagster."""
