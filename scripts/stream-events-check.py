"""The stream events of events/stream/ through `sam local invoke TestEventIndexerFunction`: what
each leaves in the test-event view. scripts/sam-local.sh runs it, after the status events.

    stream-events-check.py list                  the files, in the order a stream delivers them
    stream-events-check.py check NAME OUT LOG    NAME's response (OUT) and the view after it

`check` reads the view table (TEST_EVENTS_TABLE) on DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB,
the host's address), where the container's indexer wrote it. Run with the SAM CLI's Python
(.local/venv): boto3 comes with it.

One event, 104 (a test click of program 42), goes in, out by REMOVE, in again, and out again when
it is flipped to live; 105, a test lead whose createdAt cannot be read, never enters and is logged.
"""

import json
import os
import sys

import boto3

# name -> (view partition, event id, in the view afterwards, an ERROR line must name these)
EXPECTED = {
    "insert-test-click": ("42#click", "104", True, None),
    "remove-test-click": ("42#click", "104", False, None),
    "modify-test-to-live": ("42#click", "104", False, None),
    "unreadable-created-at": ("42#lead", "105", False, ("105", "createdAt")),
}
# Each transition is seen: 104 is put back before the flip to live takes it out.
ORDER = ["insert-test-click", "remove-test-click", "insert-test-click", "modify-test-to-live",
         "unreadable-created-at"]
DIRECTORY = "events/stream"


def listing():
    present = sorted(name[:-5] for name in os.listdir(DIRECTORY) if name.endswith(".json"))
    if present != sorted(EXPECTED):
        print(f"{DIRECTORY} holds {present}; this check expects {sorted(EXPECTED)}: "
              "say what a new stream event leaves in the view (EXPECTED)", file=sys.stderr)
        return 1
    for name in ORDER:
        print(f"{DIRECTORY}/{name}.json")
    return 0


def view_ids(partition):
    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"],
                          region_name=os.environ.get("AWS_REGION", "us-east-1"))
    items = client.query(
        TableName=os.environ["TEST_EVENTS_TABLE"],
        KeyConditionExpression="programType = :key",
        ExpressionAttributeValues={":key": {"S": partition}},
        ConsistentRead=True,
    )["Items"]
    return sorted(item["id"]["N"] for item in items)


def check(name, out, log):
    partition, event_id, present, logged = EXPECTED[name]
    problems = []
    lines = [line for line in open(out).read().splitlines() if line.strip()]
    try:
        response = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        response = None
    if response != {"batchItemFailures": []}:
        problems.append(f"the response is {lines[-1] if lines else 'empty'}, not no batch item failures")
    ids = view_ids(partition)
    if (event_id in ids) != present:
        problems.append(f"{partition} holds {ids}: {event_id} should {'' if present else 'not '}be there")
    if logged:
        errors = [line for line in open(log) if '"ERROR"' in line and all(word in line for word in logged)]
        if len(errors) != 1:
            problems.append(f"{len(errors)} ERROR lines name {' and '.join(logged)}, not 1")
    if problems:
        print(f"FAIL  {name}: " + "; ".join(problems))
        return 1
    print(f"ok    {name:<26} {partition}: {ids}")
    return 0


def main(args):
    if args == ["list"]:
        return listing()
    if len(args) == 4 and args[0] == "check" and args[1] in EXPECTED:
        return check(*args[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
