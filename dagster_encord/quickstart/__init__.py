"""Quick-start definitions and the demo's sample data."""
