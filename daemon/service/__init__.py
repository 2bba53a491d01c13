"""The daemon as a system service: configuration, systemd notify, metrics, the control socket, reload."""
