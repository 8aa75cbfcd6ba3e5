"""annotation: desired state against live state for datasets, the ontology and the project."""
