# The shape of `sam init`'s hello-world app (handler: src/hello_world/app.lambda_handler).
import json


def lambda_handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"message": "hello world"}), "module": __name__}
