"""What goes out on the wire: event payloads and their schema, the ZeroMQ publisher, safe binding,
CURVE authentication and the fan-in proxy."""
