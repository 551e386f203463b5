"""The one exception of the service layer."""


class ServiceError(Exception):
    """A service refused or failed to apply the new configuration."""
