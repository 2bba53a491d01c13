"""MQTT output with Home Assistant discovery.

``MqttOutput`` (``output.py``) attaches to the daemon's ``on_event`` / ``on_status`` hooks and
only queues there; its own thread keeps the per-source views (``state.py``) and the daemon's
(``daemon_view.py``), sends what changed, and after every (re)connect or burst of Home Assistant
birth messages republishes the discovery configurations (``discovery.py``, with the model's
labels and grouped accuracy from ``model_facts.py``) and the current state. Commands from Home
Assistant are checked and run through the control socket's path (``commands.py``).
``connection.py`` wraps paho-mqtt (its network loop runs in paho's thread, reconnecting with
backoff); ``topics.py`` names every topic and the default client id.
"""
