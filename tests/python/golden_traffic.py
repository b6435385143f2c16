"""The boto3 traffic behind the golden cassettes (cassettes/record.sh runs it through `snomed-vcr record`).

    golden_traffic.py walk|filters|bounds|errors|family --endpoint URL

Deterministic: the same requests in the same order every time, so a re-recording against the reference is
byte-identical.
"""

import argparse
import datetime

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def client(endpoint, validate=True):
    return boto3.client(
        "comprehendmedical",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="AKIDGOLDENCLIENT",
        aws_secret_access_key="golden-client-secret",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, parameter_validation=validate),
    )


def walk_all(c, method="list_snomedct_inference_jobs", **params):
    token = None
    while True:
        kwargs = dict(params)
        if token:
            kwargs["NextToken"] = token
        token = getattr(c, method)(**kwargs).get("NextToken")
        if not token:
            return


# The four sibling list operations (the boto3 methods), each listing a population of its own.
SIBLINGS = [
    "list_entities_detection_v2_jobs",
    "list_icd10_cm_inference_jobs",
    "list_phi_detection_jobs",
    "list_rx_norm_inference_jobs",
]


def family(endpoint):
    c = client(endpoint)
    for method in SIBLINGS:
        walk_all(c, method, MaxResults=60)
        walk_all(c, method, MaxResults=25, Filter={"JobStatus": "COMPLETED"})
        walk_all(c, method, MaxResults=30, Filter={"SubmitTimeBefore": utc(1704500000)})
    # A token of one operation sent to another: a token it did not issue.
    token = c.list_rx_norm_inference_jobs(MaxResults=5)["NextToken"]
    try:
        c.list_phi_detection_jobs(MaxResults=5, NextToken=token)
        raise SystemExit("expected an error for an RxNorm token sent to ListPHIDetectionJobs")
    except ClientError:
        pass


def utc(secs):
    return datetime.datetime.fromtimestamp(secs, tz=datetime.timezone.utc)


def walk(endpoint):
    walk_all(client(endpoint), MaxResults=37)


def filters(endpoint):
    c = client(endpoint)
    walk_all(c, MaxResults=50, Filter={"JobStatus": "COMPLETED"})
    walk_all(c, Filter={"JobStatus": "STOP_REQUESTED"})
    walk_all(c, MaxResults=25, Filter={"JobName": "病歴-抽出"})
    # A prefix of other jobs' names (ed-notes-2024): the recording shows whether names match by prefix.
    walk_all(c, MaxResults=25, Filter={"JobName": "ed-notes"})
    walk_all(c, MaxResults=40, Filter={"SubmitTimeBefore": utc(1704500000.25)})
    walk_all(c, MaxResults=40, Filter={"SubmitTimeAfter": utc(1705000000.123456)})
    walk_all(c, MaxResults=10, Filter={"SubmitTimeAfter": utc(1704200000), "SubmitTimeBefore": utc(1704600000), "JobStatus": "FAILED"})


def bounds(endpoint):
    # Bounds at instants jobs were submitted at (two jobs share 1704434496 in the seed-1 population), so a
    # recording shows whether a bound includes its own instant.
    c = client(endpoint)
    walk_all(c, MaxResults=30, Filter={"SubmitTimeBefore": utc(1704434496)})
    walk_all(c, MaxResults=30, Filter={"SubmitTimeAfter": utc(1704434496)})
    walk_all(c, MaxResults=20, Filter={"SubmitTimeAfter": utc(1704080462.25), "SubmitTimeBefore": utc(1704434496)})


def errors(endpoint):
    c, raw = client(endpoint), client(endpoint, validate=False)
    first = c.list_snomedct_inference_jobs(MaxResults=5)
    token = first["NextToken"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    calls = [
        (c, {"MaxResults": 501}),
        (c, {"Filter": {"JobStatus": "BOGUS"}}),
        (c, {"Filter": {"JobName": "!!$"}}),
        (c, {"MaxResults": 5, "NextToken": tampered}),
        (c, {"MaxResults": 5, "NextToken": token, "Filter": {"JobStatus": "FAILED"}}),
        (raw, {"MaxResults": 0}),
        (raw, {"MaxResults": "5"}),
    ]
    for cl, params in calls:
        try:
            cl.list_snomedct_inference_jobs(**params)
            raise SystemExit(f"expected an error for {params}")
        except ClientError:
            pass


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=["walk", "filters", "bounds", "errors", "family"])
    p.add_argument("--endpoint", required=True)
    a = p.parse_args()
    {"walk": walk, "filters": filters, "bounds": bounds, "errors": errors, "family": family}[a.scenario](a.endpoint)
