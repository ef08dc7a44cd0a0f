"""The OpenID Connect relying party behind ``eid_oidc``: configuration, upstream metadata, ID tokens."""
