"""Creates in moto (the local SQS and EventBridge, started by local/stack.sh) what template.yaml creates deployed:
the queue of the webhooks with its dead-letter queue, and the event bus, with the documentation's sample rule
(deadline_missed events into a queue of their own). Idempotent: what is there already is left as it is.

The names come from local/env.sh: each queue's name is the last part of its URL there (WEBHOOK_QUEUE_URL,
WEBHOOK_DLQ_URL, DEADLINE_MISSED_QUEUE_URL), the bus is EVENT_BUS_NAME. moto must answer with exactly the URLs
of env.sh, which the functions and the tests use: if it does not (another moto, another account), this says so
and fails, rather than the stack starting with queues that nobody reads.

usage: "$MOTO_VENV_DIR/bin/python" local/moto-setup.py   (with local/env.sh's environment)
"""
import json
import os
import sys
from urllib.parse import urlsplit

import boto3

# As deployed (the numbers; template.yaml's webhooks queue and its dead-letter queue say the same).
DLQ_RETENTION_SECONDS = 1209600  # 14 days, SQS's longest
VISIBILITY_TIMEOUT_SECONDS = 30
MAX_RECEIVE_COUNT = 8  # the first delivery and the 7 retries of the back-off schedule (WEBHOOK_RETRY_SCALE)
DEADLINE_MISSED_RULE = "deadline-missed"
DEADLINE_MISSED_PATTERN = {"detail-type": ["email.verification.deadline_missed"]}


def client(service, endpoint_var):
    endpoint = os.environ[endpoint_var]
    host = urlsplit(endpoint).hostname or ""
    if host not in ("localhost", "::1") and not host.startswith("127."):
        sys.exit(f"moto-setup.py: {endpoint_var}={endpoint} is not a loopback address")
    return boto3.client(service, endpoint_url=endpoint, region_name=os.environ["AWS_REGION"])


def queue(sqs, url_var, attributes):
    """Creates the queue that url_var names (or finds it) and returns its ARN."""
    want = os.environ[url_var]
    name = want.rstrip("/").rsplit("/", 1)[-1]
    got = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    if got != want:
        sys.exit(f"moto-setup.py: moto calls the queue {name} {got}, local/env.sh says {url_var}={want}")
    return sqs.get_queue_attributes(QueueUrl=got, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def main():
    sqs = client("sqs", "AWS_ENDPOINT_URL_SQS")
    events = client("events", "AWS_ENDPOINT_URL_EVENTBRIDGE")

    dlq_arn = queue(sqs, "WEBHOOK_DLQ_URL", {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)})
    queue(sqs, "WEBHOOK_QUEUE_URL", {
        "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}),
    })

    bus = os.environ["EVENT_BUS_NAME"]
    try:
        events.create_event_bus(Name=bus)
    except events.exceptions.ResourceAlreadyExistsException:
        pass
    # The sample rule. Deployed its queue also needs a policy that lets events.amazonaws.com send to it;
    # moto checks no permissions.
    target_arn = queue(sqs, "DEADLINE_MISSED_QUEUE_URL", {})
    events.put_rule(Name=DEADLINE_MISSED_RULE, EventBusName=bus, EventPattern=json.dumps(DEADLINE_MISSED_PATTERN),
                    State="ENABLED")
    events.put_targets(Rule=DEADLINE_MISSED_RULE, EventBusName=bus, Targets=[{"Id": "queue", "Arn": target_arn}])
    print(f"moto: queues {os.environ['WEBHOOK_QUEUE_URL']} (dead letters after {MAX_RECEIVE_COUNT} receives: "
          f"{os.environ['WEBHOOK_DLQ_URL']}), bus {bus} (rule {DEADLINE_MISSED_RULE} -> "
          f"{os.environ['DEADLINE_MISSED_QUEUE_URL']})")


if __name__ == "__main__":
    main()
