# Handlers for hivehook's Lambda tests, written as for AWS Lambda's Python runtime.
import json
import logging
import os
import sys
import time

print("Loading function")  # module init: runs once per execution environment

logger = logging.getLogger()
logger.setLevel(logging.INFO)

invocations = 0  # module state: survives between invocations of a warm environment


def count(event, context):
    global invocations
    invocations += 1
    logger.info("invocation %d of environment %d", invocations, os.getpid())
    print("count handler saw", event["hivehook"]["key"] if "hivehook" in event else event)
    return {"count": invocations, "pid": os.getpid()}


def boom(event, context):
    raise ValueError("cannot parse " + str(event.get("what", "this")))


def sleep(event, context):
    print("going to sleep", flush=True)
    time.sleep(float(event.get("seconds", 60)))
    return "woke up"


def exit_process(event, context):
    print("exiting with", event.get("code", 3), flush=True)
    sys.exit(int(event.get("code", 3)))


def context_fields(event, context):
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "LAMBDA_", "_HANDLER"))},
        "cwd": os.getcwd(),
    }


def not_serialisable(event, context):
    return {"when": object()}


def returns_none(event, context):
    return None


def echo(event, context):
    return event


def run_environment(event, context):
    return {k: v for k, v in os.environ.items() if k.startswith("HIVEHOOK_")}


def bad_input(event, context):
    print("this input cannot be loaded: exit 65 (EX_DATAERR), no retry", flush=True)
    sys.exit(65)
