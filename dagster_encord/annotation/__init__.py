"""Annotation set-up in Encord as code: the ontology and the project (no Dagster here)."""
