"""The service pipeline that turns a committed configuration into the programs' files.

Contract (VyOS style, see DESIGN.md): for each service whose subtree changed,
get_config -> verify -> generate -> apply, with every replaced file restored if any step
of any service fails. `apply_commit` is called by the datastore inside every commit,
confirmed-commit revert and rollback, after validation and before anything is stored;
raising ServiceError refuses the commit and leaves running as it was.
"""


class ServiceError(Exception):
    """A service refused or failed to apply the new configuration."""


SERVICES = []      # service modules, in dependency order


def apply_commit(old, new, changes, context):
    """Run every service whose subtree CHANGES touch; raise ServiceError to refuse."""
    touched = {c.path[0] if not isinstance(c.path[0], tuple) else c.path[0][0] for c in changes}
    for service in SERVICES:
        if touched & set(service.SUBTREES):
            service.run(old, new, context)
