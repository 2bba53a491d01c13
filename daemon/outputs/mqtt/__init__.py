"""MQTT output with Home Assistant discovery.

``MqttOutput`` (``output.py``) attaches to the daemon's ``on_event`` / ``on_status`` hooks and
only queues there; its own thread keeps the per-source view (``state.py``), sends what changed,
and after every (re)connect or Home Assistant birth message republishes the discovery
configurations (``discovery.py``) and the current state. ``connection.py`` wraps paho-mqtt (its
network loop runs in paho's thread, reconnecting with backoff).
"""
