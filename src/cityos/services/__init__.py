"""一网通办: service items, applications at one window, signed e-licenses, queue, 好差评,
OpenID Connect provider."""
