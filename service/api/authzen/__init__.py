"""OpenID AuthZEN Authorization API 1.0: ageband's decisions for gateways and identity providers."""
