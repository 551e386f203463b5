"""The security module's runtime: the IPS component of the BESIP daemon, which owns the
kernel's `inet besip` table (nftables), bans the sources Kamailio reports and keeps its
bans and events in SQLite."""
