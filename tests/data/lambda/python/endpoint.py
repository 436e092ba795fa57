# A function that makes a boto3 S3 client at init, as most S3-triggered functions do.
import boto3
import botocore

s3 = boto3.client("s3")


def handler(event, context):
    return {"endpoint": s3.meta.endpoint_url, "region": s3.meta.region_name, "botocore": botocore.__version__}
