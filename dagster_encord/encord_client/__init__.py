"""encord_client."""
