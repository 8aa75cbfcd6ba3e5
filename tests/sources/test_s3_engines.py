"""The obstore engine gives exactly the boto3 engine's records, including for keys that
`object_store` cannot represent (it falls back to boto3 for one page and resumes)."""

from __future__ import annotations

import boto3

from dagster_encord.sources import open_source
from tests.sources.rigs import all_records

UNREPRESENTABLE = ["a//double-slash.jpg", "./dot-segment.jpg", "x/../parent.jpg"]


def test_engines_agree_around_keys_object_store_rejects(s3_bucket: tuple[str, str]) -> None:
    endpoint, bucket = s3_bucket
    client = boto3.client("s3", endpoint_url=endpoint)
    keys = [f"m/{n:04d}.jpg" for n in range(2100)] + UNREPRESENTABLE + ["zero-bytes.txt"]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=key, Body=b"x"), keys[:-1]))
    client.put_object(Bucket=bucket, Key="zero-bytes.txt", Body=b"")
    client.put_object(Bucket=bucket, Key="folder-marker/", Body=b"")

    fast = all_records(open_source(f"s3://{bucket}", endpoint_url=endpoint, engine="obstore"))
    slow = all_records(open_source(f"s3://{bucket}", endpoint_url=endpoint, engine="boto3"))
    assert [r.key for r in fast] == sorted(keys)
    assert fast == slow  # same keys, URLs, sizes, etags and timestamps
