"""Drive ListSNOMEDCTInferenceJobs with the real boto3 client and print what it saw as JSON.

The Rust tests start a server, run this script against it, and compare the output with what they expect, so
the expectations live in one place (the Rust side) and boto3 is exercised exactly as a user would use it.

    boto3_client.py walk --endpoint URL [--max N] [--filter JSON]
    boto3_client.py call --endpoint URL [--input JSON] [--no-validate]

Common options: --access-key, --secret-key, --region, --max-attempts (standard retry mode).
"""

import argparse
import datetime
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

TIME_KEYS = ("SubmitTimeBefore", "SubmitTimeAfter")


def client(args):
    config = Config(
        retries={"mode": "standard", "total_max_attempts": args.max_attempts},
        parameter_validation=not args.no_validate,
        connect_timeout=5,
        read_timeout=30,
    )
    return boto3.client(
        "comprehendmedical",
        region_name=args.region,
        endpoint_url=args.endpoint,
        aws_access_key_id=args.access_key,
        aws_secret_access_key=args.secret_key,
        config=config,
    )


def with_datetimes(params):
    """Timestamps in test inputs are epoch seconds; users pass datetimes, so do the same."""
    flt = params.get("Filter")
    if isinstance(flt, dict):
        for key in TIME_KEYS:
            if isinstance(flt.get(key), (int, float)):
                flt[key] = datetime.datetime.fromtimestamp(flt[key], tz=datetime.timezone.utc)
    return params


def job_summary(job):
    out = {k: v for k, v in job.items() if not isinstance(v, datetime.datetime)}
    for k, v in job.items():
        if isinstance(v, datetime.datetime):
            out[k] = v.timestamp()
    return out


def walk(args):
    c = client(args)
    flt = json.loads(args.filter) if args.filter else None
    pages, token = [], None
    while True:
        params = {"MaxResults": args.max}
        if flt is not None:
            params["Filter"] = flt
        params = with_datetimes(params)
        if token:
            params["NextToken"] = token
        resp = c.list_snomedct_inference_jobs(**params)
        jobs = resp.get("ComprehendMedicalAsyncJobPropertiesList", [])
        pages.append([job_summary(j) for j in jobs])
        token = resp.get("NextToken")
        if not token:
            break
        if len(pages) > 10000:
            sys.exit("more than 10000 pages: the server never stops paginating")
    print(json.dumps({"pages": pages}))


def call(args):
    c = client(args)
    params = with_datetimes(json.loads(args.input))
    try:
        resp = c.list_snomedct_inference_jobs(**params)
    except ClientError as e:
        err = e.response.get("Error", {})
        meta = e.response.get("ResponseMetadata", {})
        print(json.dumps({
            "ok": False,
            "code": err.get("Code"),
            "message": err.get("Message"),
            "status": meta.get("HTTPStatusCode"),
            "request_id": meta.get("RequestId"),
            "retry_attempts": meta.get("RetryAttempts"),
        }))
        return
    meta = resp["ResponseMetadata"]
    print(json.dumps({
        "ok": True,
        "status": meta.get("HTTPStatusCode"),
        "request_id": meta.get("RequestId"),
        "retry_attempts": meta.get("RetryAttempts"),
        "jobs": [job_summary(j) for j in resp.get("ComprehendMedicalAsyncJobPropertiesList", [])],
        "next_token": resp.get("NextToken"),
    }))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["walk", "call"])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--access-key", default="AKIDEXAMPLE")
    p.add_argument("--secret-key", default="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    p.add_argument("--max-attempts", type=int, default=3)
    p.add_argument("--no-validate", action="store_true")
    p.add_argument("--max", type=int, default=37)
    p.add_argument("--filter")
    p.add_argument("--input", default="{}")
    args = p.parse_args()
    {"walk": walk, "call": call}[args.command](args)


if __name__ == "__main__":
    main()
