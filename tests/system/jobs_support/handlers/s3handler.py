# An S3-triggered handler written exactly as AWS's documentation writes one; it returns what it saw.
import json
import os
import urllib.parse


def lambda_handler(event, context):
    bucket = event['Records'][0]['s3']['bucket']['name']
    key = urllib.parse.unquote_plus(event['Records'][0]['s3']['object']['key'], encoding='utf-8')
    with open(os.path.join(os.environ["HIVEHOOK_PATH"]), "rb") as f:
        content = f.read().decode("utf-8", "replace")
    return {
        "bucket": bucket,
        "key": key,
        "content": content,
        "record": event['Records'][0],
        "hivehook": event['hivehook'],
        "env": {k: v for k, v in os.environ.items() if k.startswith("HIVEHOOK_")},
        "context": {
            "function_name": context.function_name,
            "aws_request_id": context.aws_request_id,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "invoked_function_arn": context.invoked_function_arn,
        },
    }


def boom(event, context):
    raise ValueError("cannot parse " + event['Records'][0]['s3']['object']['key'])


def bad_input(event, context):
    import sys
    sys.exit(65)
