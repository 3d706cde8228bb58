"""What Lambda's event source mappings do deployed (template.yaml), for the local stack, so that the same functions
run under `cargo lambda watch`:

  DynamoDB Streams -> events   The stream of TABLE_NAME on DynamoDB Local: every shard from TRIM_HORIZON (the
                               table is in memory and new with each stack), in order within a shard, a parent
                               shard before its children; each non-empty GetRecords batch (at most 100 records)
                               is one invocation of the function events, with Lambda's DynamoDB stream event.
                               At least once, never skipped: an error answer retries the same batch, a
                               batchItemFailures answer (ReportBatchItemFailures) resumes from its first failed
                               record, each after 0.5 s.
  SQS webhooks -> webhooks     The queue WEBHOOK_QUEUE_URL on moto: each received batch (at most 10 messages) is
                               one invocation of the function webhooks, with Lambda's SQS event, in a thread of
                               its own, up to 8 at once (one caller's slow endpoint does not hold up the others).
                               An error answer leaves every message (visible again after its visibility
                               timeout); otherwise every message is deleted but those in batchItemFailures, which
                               SQS delivers again (the function has set their visibility timeout to the
                               back-off). The dead-letter queue is SQS's own: moto moves a message received
                               maxReceiveCount times to it at the next ReceiveMessage (the RedrivePolicy that
                               local/moto-setup.py sets), as SQS does, so nothing here does.

Both invoke through cargo lambda watch's invoke API (http://BIND_HOST:LAMBDA_PORT/2015-03-31/functions/NAME/
invocations). Loopback only. It runs until stopped (local/stack.sh starts it in run and test modes and stops it
with the rest); a transient error (a service not up yet, a function being rebuilt) is logged to standard output
(.stack/<LAMBDA_PORT>/streams.log) and retried after a short pause, never a reason to exit.

usage: "$MOTO_VENV_DIR/bin/python" local/streams.py   (with local/env.sh's environment)
"""
import base64
import http.client
import json
import os
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = os.environ["AWS_REGION"]
STREAM_BATCH = 100          # records per invocation: Lambda's default BatchSize for DynamoDB Streams
SQS_BATCH = 10              # ReceiveMessage's limit; Lambda's default BatchSize for SQS
SQS_IN_FLIGHT = 8           # as cargo lambda watch --concurrency 8 in local/stack.sh
IDLE_POLL_SECONDS = 0.2     # a shard with nothing new is asked again after this
RETRY_PAUSE_SECONDS = 0.5   # after a failed (or partly failed) batch, before it is tried again
ERROR_PAUSE_SECONDS = 1.0   # after a transient error of DynamoDB Local, moto or the invoke API
REFRESH_SECONDS = 2.0       # DescribeTable and DescribeStream again (new stream, new shards), besides a shard's end
# Deployed a function has 30 s (template.yaml); locally cargo lambda watch may first rebuild it after an edit.
INVOKE_TIMEOUT_SECONDS = 300

_log_lock = threading.Lock()


def log(message):
    with _log_lock:
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", flush=True)


def loopback(name, url):
    host = urlsplit(url).hostname or ""
    if host not in ("localhost", "::1") and not host.startswith("127."):
        sys.exit(f"streams.py: {name}={url} is not a loopback address")
    return url


def b64(data):
    return base64.b64encode(data).decode("ascii")


# -- invoking a function ------------------------------------------------------------------------------------------

_bind_host = os.environ["BIND_HOST"]
INVOKE_URL = loopback(
    "BIND_HOST",
    f"http://{f'[{_bind_host}]' if ':' in _bind_host else _bind_host}:{os.environ['LAMBDA_PORT']}"
    "/2015-03-31/functions/{}/invocations")
# Never through a proxy from the environment: the invoke API is on this machine.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def invoke(function, event):
    """POSTs event to the function. Returns (True, answer) with the parsed JSON answer (None when the body is empty
    or no JSON), or (False, why) for an error answer: HTTP status >= 400, the header X-Amz-Function-Error, a body
    with errorType or errorMessage, or no answer at all (the invoke API down, a timeout)."""
    request = urllib.request.Request(INVOKE_URL.format(function), data=json.dumps(event).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with _opener.open(request, timeout=INVOKE_TIMEOUT_SECONDS) as response:
            status, headers, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return False, f"HTTP {e.code}: {e.read()[:500].decode('utf-8', 'replace')}"
    except (OSError, http.client.HTTPException) as e:
        return False, f"no answer ({type(e).__name__}: {e})"
    text = body.decode("utf-8", "replace")
    if status >= 400 or headers.get("X-Amz-Function-Error"):
        return False, f"HTTP {status} {headers.get('X-Amz-Function-Error') or ''}: {text[:500]}"
    try:
        answer = json.loads(body) if body.strip() else None
    except ValueError:
        answer = None
    if isinstance(answer, dict) and ("errorType" in answer or "errorMessage" in answer):
        return False, f"function error: {text[:500]}"
    return True, answer


def failed_items(answer):
    """The itemIdentifiers of a ReportBatchItemFailures answer ([] = the whole batch succeeded). An entry without
    a usable itemIdentifier comes back as None: Lambda then takes the whole batch as failed."""
    if not isinstance(answer, dict) or not isinstance(answer.get("batchItemFailures"), list):
        return []
    ids = []
    for failure in answer["batchItemFailures"]:
        item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        ids.append(item if isinstance(item, str) and item else None)
    return ids


# -- DynamoDB Streams -> events -----------------------------------------------------------------------------------

def attribute(value):
    """A DynamoDB JSON attribute value as Lambda delivers it: boto3 gives Binary as bytes, the event has base64."""
    out = {}
    for kind, v in value.items():
        if kind == "B":
            out[kind] = b64(v)
        elif kind == "BS":
            out[kind] = [b64(x) for x in v]
        elif kind == "M":
            out[kind] = {k: attribute(x) for k, x in v.items()}
        elif kind == "L":
            out[kind] = [attribute(x) for x in v]
        else:  # S, N, BOOL, NULL, SS, NS
            out[kind] = v
    return out


def stream_record(record, stream_arn):
    """One record of Lambda's DynamoDB stream event. awsRegion is the stack's AWS_REGION (DynamoDB Local says
    "ddblocal"); eventSourceARN is the stream's ARN as DynamoDB Local names it."""
    d = record["dynamodb"]
    created = d["ApproximateCreationDateTime"].timestamp()
    dynamodb = {"ApproximateCreationDateTime": int(created) if created == int(created) else created}
    for key in ("Keys", "NewImage", "OldImage"):
        if key in d:
            dynamodb[key] = {name: attribute(v) for name, v in d[key].items()}
    dynamodb.update(SequenceNumber=d["SequenceNumber"], SizeBytes=d["SizeBytes"], StreamViewType=d["StreamViewType"])
    out = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # a TTL deletion: {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        out["userIdentity"] = {"type": record["userIdentity"].get("Type"),
                               "principalId": record["userIdentity"].get("PrincipalId")}
    return out


class Shard(threading.Thread):
    """Reads one shard to its end, in order, and hands each batch to the function events until it succeeds."""

    def __init__(self, streams, stream_arn, shard_id, wake):
        super().__init__(name=f"shard {shard_id}", daemon=True)
        self.streams, self.stream_arn, self.shard_id, self.wake = streams, stream_arn, shard_id, wake
        self.parent = None            # the parent's Shard, read to its end before this one starts
        self.ended = threading.Event()
        # The table has another stream now: this shard is still read to its end (a disabled stream's shards are
        # closed), unless its stream is gone (the table deleted).
        self.superseded = threading.Event()

    def run(self):
        while self.parent is not None and not self.parent.ended.wait(1.0):
            if self.parent.superseded.is_set() and not self.parent.is_alive():
                break  # its stream is gone: nothing more to wait for
        position = {"ShardIteratorType": "TRIM_HORIZON"}
        iterator = None
        while True:
            try:
                if iterator is None:
                    iterator = self.streams.get_shard_iterator(
                        StreamArn=self.stream_arn, ShardId=self.shard_id, **position)["ShardIterator"]
                page = self.streams.get_records(ShardIterator=iterator, Limit=STREAM_BATCH)
                records, following = page.get("Records", []), page.get("NextShardIterator")
                if not records:
                    if following is None:
                        return self.end()
                    iterator = following
                    time.sleep(IDLE_POLL_SECONDS)
                    continue
                resume = self.deliver(records)
                if resume is not None:  # the batch again, from this record
                    position = {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": resume}
                    iterator = None
                    time.sleep(RETRY_PAUSE_SECONDS)
                    continue
                position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                            "SequenceNumber": records[-1]["dynamodb"]["SequenceNumber"]}
                iterator = following
                if following is None:
                    return self.end()
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code")
                iterator = None
                if code == "ExpiredIteratorException":  # a fresh one from the same position
                    continue
                if code == "TrimmedDataAccessException":  # 24 h of records at most: from the oldest left
                    log(f"events: {self.shard_id}: position trimmed, reading from TRIM_HORIZON: {e}")
                    position = {"ShardIteratorType": "TRIM_HORIZON"}
                    continue
                if code == "ResourceNotFoundException" and self.superseded.is_set():  # the table deleted
                    log(f"events: {self.shard_id}: {self.stream_arn} is gone: {e}")
                    return
                log(f"events: {self.shard_id}: {e}; again in {ERROR_PAUSE_SECONDS}s")
                time.sleep(ERROR_PAUSE_SECONDS)
            except Exception as e:
                iterator = None
                log(f"events: {self.shard_id}: {type(e).__name__}: {e}; again in {ERROR_PAUSE_SECONDS}s")
                time.sleep(ERROR_PAUSE_SECONDS)

    def deliver(self, records):
        """Invokes events with the batch. Returns None when it is done, else the SequenceNumber to resume from."""
        seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
        label = f"events: {self.shard_id}: {len(records)} record(s) {seqs[0]}..{seqs[-1]}"
        ok, answer = invoke("events", {"Records": [stream_record(r, self.stream_arn) for r in records]})
        if not ok:
            log(f"{label}: {answer}; the batch again in {RETRY_PAUSE_SECONDS}s")
            return seqs[0]
        failed = failed_items(answer)
        if not failed:
            log(f"{label}: done")
            return None
        if any(item not in seqs for item in failed):  # Lambda: an unusable itemIdentifier fails the whole batch
            log(f"{label}: batchItemFailures {failed} names no record of the batch; the batch again")
            return seqs[0]
        first = min(failed, key=seqs.index)
        log(f"{label}: batchItemFailures {failed}; again from {first} in {RETRY_PAUSE_SECONDS}s")
        return first

    def end(self):
        log(f"events: {self.shard_id}: shard ended, read to its end")
        self.ended.set()
        self.wake.set()  # look for its children now


class StreamPoller:
    """Finds the table's stream (it may not exist yet) and follows its shards as they come and close."""

    def __init__(self, dynamodb, streams, table):
        self.dynamodb, self.streams, self.table = dynamodb, streams, table
        self.stream_arn = ""  # not yet looked for ("": the first answer, even None, is logged)
        self.shards = {}  # shard id -> Shard, for the current stream (ended ones too: never read twice)
        self.wake = threading.Event()

    def run(self):
        while True:
            try:
                arn = self.latest_stream_arn()
                if arn != self.stream_arn:
                    for shard in self.shards.values():
                        shard.superseded.set()
                    self.stream_arn, self.shards = arn, {}
                    log(f"events: following {arn}" if arn else
                        f"events: waiting for table {self.table} with a stream (LatestStreamArn)")
                if arn is None:
                    time.sleep(RETRY_PAUSE_SECONDS)
                    continue
                self.discover()
            except Exception as e:
                log(f"events: {type(e).__name__}: {e}; again in {ERROR_PAUSE_SECONDS}s")
                time.sleep(ERROR_PAUSE_SECONDS)
                continue
            self.wake.wait(REFRESH_SECONDS)
            self.wake.clear()

    def latest_stream_arn(self):
        try:
            table = self.dynamodb.describe_table(TableName=self.table)["Table"]
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        if not table.get("StreamSpecification", {}).get("StreamEnabled"):
            return None
        return table.get("LatestStreamArn")

    def discover(self):
        listed, start = [], None
        while True:
            args = {"StreamArn": self.stream_arn, "Limit": 100}
            if start:
                args["ExclusiveStartShardId"] = start
            description = self.streams.describe_stream(**args)["StreamDescription"]
            listed += description.get("Shards", [])
            start = description.get("LastEvaluatedShardId")
            if not start:
                break
        new = [s for s in listed if s["ShardId"] not in self.shards]
        for s in new:
            self.shards[s["ShardId"]] = Shard(self.streams, self.stream_arn, s["ShardId"], self.wake)
        for s in new:  # a parent that is no longer listed (trimmed) is no reason to wait
            self.shards[s["ShardId"]].parent = self.shards.get(s.get("ParentShardId"))
        for s in new:
            log(f"events: reading shard {s['ShardId']} from TRIM_HORIZON"
                + (f" after its parent {s['ParentShardId']}" if s.get("ParentShardId") in self.shards else ""))
            self.shards[s["ShardId"]].start()


# -- SQS webhooks -> webhooks -------------------------------------------------------------------------------------

def message_attribute(a):
    out = {}
    if "StringValue" in a:
        out["stringValue"] = a["StringValue"]
    if "BinaryValue" in a:
        out["binaryValue"] = b64(a["BinaryValue"])
    out["stringListValues"] = list(a.get("StringListValues", []))
    out["binaryListValues"] = [b64(x) for x in a.get("BinaryListValues", [])]
    out["dataType"] = a["DataType"]
    return out


def sqs_record(message, queue_arn):
    """One record of Lambda's SQS event."""
    out = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {name: message_attribute(a) for name, a in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message["MD5OfBody"],
    }
    if "MD5OfMessageAttributes" in message:
        out["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    out.update(eventSource="aws:sqs", eventSourceARN=queue_arn, awsRegion=REGION)
    return out


class QueuePoller:
    """Receives batches from the queue and hands each to the function webhooks in a thread of its own."""

    def __init__(self, sqs, queue_url):
        self.sqs, self.queue_url = sqs, queue_url
        self.slots = threading.BoundedSemaphore(SQS_IN_FLIGHT)

    def run(self):
        queue_arn = None
        while True:
            try:
                if queue_arn is None:
                    queue_arn = self.sqs.get_queue_attributes(
                        QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                    log(f"webhooks: receiving from {self.queue_url}")
                # A batch is received only when a worker is free to take it at once: one that waited here would
                # only run down its visibility timeout.
                while not self.slots.acquire(timeout=1.0):
                    pass
                try:
                    messages = self.sqs.receive_message(
                        QueueUrl=self.queue_url, MaxNumberOfMessages=SQS_BATCH, WaitTimeSeconds=1,
                        AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
                    if messages:
                        threading.Thread(target=self.deliver, args=(messages, queue_arn), daemon=True,
                                         name="webhooks batch").start()
                except BaseException:
                    self.slots.release()
                    raise
                if not messages:
                    self.slots.release()
            except Exception as e:
                log(f"webhooks: {type(e).__name__}: {e}; again in {ERROR_PAUSE_SECONDS}s")
                time.sleep(ERROR_PAUSE_SECONDS)

    def deliver(self, messages, queue_arn):
        try:
            ids = [m["MessageId"] for m in messages]
            label = f"webhooks: {len(messages)} message(s) {','.join(ids)}"
            ok, answer = invoke("webhooks", {"Records": [sqs_record(m, queue_arn) for m in messages]})
            if not ok:
                log(f"{label}: {answer}; all left for SQS to deliver again")
                return
            failed = failed_items(answer)
            if any(item not in ids for item in failed):  # Lambda: an unusable itemIdentifier fails the whole batch
                log(f"{label}: batchItemFailures {failed} names no message of the batch; all left")
                return
            done = [m for m in messages if m["MessageId"] not in failed]
            self.delete(done)
            log(f"{label}: {len(done)} deleted" + (f", {len(failed)} left (batchItemFailures)" if failed else ""))
        except Exception as e:
            log(f"webhooks: {type(e).__name__}: {e}\n{traceback.format_exc()}")
        finally:
            self.slots.release()

    def delete(self, messages):
        pending = {str(i): m for i, m in enumerate(messages)}
        for attempt in range(3):
            if not pending:
                return
            try:
                result = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                    {"Id": i, "ReceiptHandle": m["ReceiptHandle"]} for i, m in pending.items()])
                for ok in result.get("Successful", []):
                    pending.pop(ok["Id"], None)
                for failed in result.get("Failed", []):
                    if failed.get("SenderFault"):  # e.g. the receipt handle is no longer valid: nothing to retry
                        log(f"webhooks: not deleted {pending.pop(failed['Id'])['MessageId']}: {failed}")
            except Exception as e:
                log(f"webhooks: DeleteMessageBatch: {type(e).__name__}: {e}")
            if pending:
                time.sleep(RETRY_PAUSE_SECONDS)
        for m in pending.values():  # SQS delivers it again: at least once
            log(f"webhooks: not deleted {m['MessageId']}; SQS will deliver it again")


def main():
    dynamodb_url = loopback("AWS_ENDPOINT_URL_DYNAMODB", os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    sqs_url = loopback("AWS_ENDPOINT_URL_SQS", os.environ["AWS_ENDPOINT_URL_SQS"])
    queue_url = loopback("WEBHOOK_QUEUE_URL", os.environ["WEBHOOK_QUEUE_URL"])
    table = os.environ["TABLE_NAME"]
    # Bounded waits: no call to DynamoDB Local or moto hangs for long (ReceiveMessage waits 1 s).
    config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"},
                    max_pool_connections=SQS_IN_FLIGHT + 4)
    session = boto3.session.Session(region_name=REGION)
    dynamodb = session.client("dynamodb", endpoint_url=dynamodb_url, config=config)
    streams = session.client("dynamodbstreams", endpoint_url=dynamodb_url, config=config)
    sqs = session.client("sqs", endpoint_url=sqs_url, config=config)

    log(f"streams.py: DynamoDB Streams of {table} ({dynamodb_url}) -> events; {queue_url} -> webhooks; "
        f"invoking {INVOKE_URL.format('<name>')}")
    loops = [threading.Thread(target=StreamPoller(dynamodb, streams, table).run, name="streams", daemon=True),
             threading.Thread(target=QueuePoller(sqs, queue_url).run, name="queue", daemon=True)]
    for loop in loops:
        loop.start()
    while all(loop.is_alive() for loop in loops):
        time.sleep(1.0)
    sys.exit("streams.py: a loop ended unexpectedly")  # only a bug gets here: the loops catch every error


if __name__ == "__main__":
    main()
