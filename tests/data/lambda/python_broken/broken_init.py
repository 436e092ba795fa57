# Module init that fails: Lambda reports the exception and starts again on the next invocation.
import json

print("initialising, about to fail")
CONFIG = json.loads("{not json")


def handler(event, context):
    return "never reached"
