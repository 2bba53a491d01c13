"""The live engine: the Daemon loop, per-source pipelines, the supervisor and the smoother."""
