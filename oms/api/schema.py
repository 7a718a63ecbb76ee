"""OpenAPI extensions so the schema documents channel keys and money fields."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ChannelTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oms.api.auth.ChannelTokenAuthentication"
    name = "channelKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A channel's API key: `Bearer <key>`."}
