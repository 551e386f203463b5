"""The BESIP daemon: one long-running process hosting the runtime components (the IPS
first; monitoring and the web interface later), so they share one interpreter's memory.

Each component has `name`, `sockets()` -> [(socket, handler)], `commands()` -> {name:
callable}, `reload()` and `close()`. The daemon waits on every socket (event-driven, no
polling) and on its control socket, where `besip-daemon reload` (the service pipeline's
reload command) and the shell's `show`/`clear security blocked` send their requests.
"""
