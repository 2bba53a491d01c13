"""Outputs that consume the daemon's decided events (MQTT, the web dashboard), attached as peers
to its ``on_event`` / ``on_status`` hooks; each hands events to its own thread and never blocks
the loop."""
