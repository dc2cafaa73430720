"""support-gateway: the daemon, its shell and its pure core (`gateway.core`)."""
