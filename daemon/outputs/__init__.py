"""Outputs that consume the daemon's decided events (MQTT, ...), attached as peers to its hooks."""
