"""``genrecast cluster run`` and ``genrecast classify --cluster``: the daemon over a Ray cluster.

A room beside ``service``: the daemon's core never imports it, and nothing here imports Ray
until a cluster command runs (``ray_link.require_ray``), so ``genrecast`` works without the
``[cluster]`` extra.
"""
