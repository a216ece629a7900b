"""The partner edge: every /api/v1/ endpoint, OAuth, the request flow and the calls to holders."""
