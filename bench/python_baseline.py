"""The cold-start baseline in Python: what a Python function of this service would do before its first poll.

Imports boto3, creates the DynamoDB and SES v2 clients (as a handler module does at import time), then polls
the Runtime API once, as the Lambda runtime interface client does. `make bench` times process start to
that poll. Standard library only besides boto3; nothing is sent to AWS.
"""

import os
import urllib.request

import boto3

dynamodb = boto3.client("dynamodb")
sesv2 = boto3.client("sesv2")

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next", timeout=60)
