"""The built-in SSH server (paramiko): the `netconf` subsystem and the interactive shell."""
