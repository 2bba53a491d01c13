"""What goes out on the wire: event payloads and their schema, the ZeroMQ publisher, safe binding, CURVE, the proxy."""
