"""Schemathesis hooks for fuzz/openapi.yaml: AWS JSON 1.1 bodies are JSON, both ways."""
import json

import schemathesis

schemathesis.serializer.alias("application/x-amz-json-1.1", "application/json")


@schemathesis.deserializer("application/x-amz-json-1.1")
def aws_json(ctx, response):
    return json.loads(response.content or b"{}")
