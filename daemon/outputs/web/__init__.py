"""The live dashboard: a page, Server-Sent Events and a JSON status API from the daemon's process.

``WebOutput`` (``output.py``) wires the parts: ``EventHub`` (``hub.py``) takes events from the
loop thread and fans them out to ``/events`` clients, ``Dashboard`` (``state.py``) keeps what the
page shows per source, ``WebServer`` (``server.py``) answers HTTP.
"""
