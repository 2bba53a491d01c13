"""The bundled demo recording (package data only)."""
