"""Offline classification of whole files (``genrecast classify``)."""
