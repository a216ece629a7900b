"""JSON out; problem responses keep their ``application/problem+json`` content type."""

from rest_framework.renderers import JSONRenderer


class GatewayJSONRenderer(JSONRenderer):
    charset = "utf-8"
