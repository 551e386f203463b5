"""NETCONF (RFC 6241/6242) on the shared datastore: one session per `server.serve` call,
whatever carries it (the stdio subsystem under OpenSSH, or the built-in SSH server)."""
