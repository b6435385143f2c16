"""List the first two pages of each given Comprehend Medical list operation with boto3; print JSON.

    family.py --endpoint URL --max N METHOD...

METHOD is the boto3 method (list_rx_norm_inference_jobs, ...). Prints {METHOD: [[ids of page 1], [ids of
page 2]]}; the second page is asked for with the first page's NextToken (empty when there was none).
"""

import argparse
import json

import boto3
from botocore.config import Config


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--max", type=int, default=7)
    p.add_argument("methods", nargs="+")
    args = p.parse_args()
    client = boto3.client(
        "comprehendmedical",
        region_name="us-east-1",
        endpoint_url=args.endpoint,
        aws_access_key_id="AKIDFAMILY",
        aws_secret_access_key="family-secret",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    out = {}
    for method in args.methods:
        call = getattr(client, method)
        first = call(MaxResults=args.max)
        ids = lambda page: [j["JobId"] for j in page["ComprehendMedicalAsyncJobPropertiesList"]]
        pages = [ids(first)]
        token = first.get("NextToken")
        pages.append(ids(call(MaxResults=args.max, NextToken=token)) if token else [])
        out[method] = pages
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
