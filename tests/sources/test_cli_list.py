"""`dagster-encord list`: JSON lines on stdout, progress only when stderr is a terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import boto3

COMMAND = [sys.executable, "-m", "dagster_encord.cli", "list"]


def _seed(endpoint: str, bucket: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=endpoint)
    keys = ["videos/Cooking.mp4", "images/1 (32).jpg", "images/skip.txt"]
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=b"12345")
    return keys


def test_jsonl_streams_one_record_per_line(s3_bucket: tuple[str, str]) -> None:
    endpoint, bucket = s3_bucket
    _seed(endpoint, bucket)
    result = subprocess.run(
        [
            *COMMAND,
            f"s3://{bucket}/images/",
            "--endpoint-url",
            endpoint,
            "--jsonl",
            "--exclude",
            "*.txt",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not a terminal: no progress, no summary
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["key"] for record in records] == ["images/1 (32).jpg"]
    record = records[0]
    assert record["object_url"] == f"{endpoint}/{bucket}/images/1%20%2832%29.jpg"
    assert record["size"] == 5
    assert record["version"]
    assert record["last_modified"].endswith("+00:00")


def test_plain_output_and_progress_on_a_terminal(s3_bucket: tuple[str, str]) -> None:
    endpoint, bucket = s3_bucket
    keys = _seed(endpoint, bucket)
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [*COMMAND, f"s3://{bucket}", "--endpoint-url", endpoint],
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=120,
        )
        os.close(follower)
        follower = -1
        terminal = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert [line.rsplit("  ", 1)[-1] for line in lines] == sorted(keys)
    assert lines[-1].endswith("videos/Cooking.mp4")
    assert b"3 objects, 15 bytes" in terminal
