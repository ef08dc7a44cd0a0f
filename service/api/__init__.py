"""HTTP layer: thin routers, request/response schemas, one place that renders errors."""
