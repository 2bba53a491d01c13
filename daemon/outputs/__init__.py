"""Outputs that consume the daemon's decided events (web dashboard, ...), attached as peers to its
``on_event`` hook; each hands events to its own thread and never blocks the loop."""
