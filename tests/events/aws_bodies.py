"""SQS message bodies exactly as AWS documents them (Amazon S3 User Guide: "Event message
structure", "EventBridge event message structure"; Amazon SNS Developer Guide: "Parsing message
formats"). Builders, so a test can vary the key, size and sequencer."""

from __future__ import annotations

import json
from typing import Any


def s3_record(
    key: str,
    *,
    event_name: str = "ObjectCreated:Put",
    bucket: str = "amzn-s3-demo-bucket",
    size: int | None = 1024,
    etag: str | None = "d41d8cd98f00b204e9800998ecf8427e",
    sequencer: str = "0055AED6DCD90281E5",
    event_time: str = "1970-01-01T00:00:00.000Z",
) -> dict[str, Any]:
    """One record of a direct S3 notification; `key` must already be URL-encoded as S3 does."""
    item: dict[str, Any] = {"key": key}
    if size is not None:
        item["size"] = size
    if etag is not None:
        item["eTag"] = etag
    item |= {"versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko", "sequencer": sequencer}
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-west-2",
        "eventTime": event_time,
        "eventName": event_name,
        "userIdentity": {"principalId": "AIDAJDPLRKLG7UEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": "C3D13FE58DE4C810",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "testConfigRule",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": item,
        },
    }


def s3_notification(*records: dict[str, Any]) -> str:
    return json.dumps({"Records": list(records)})


def s3_test_event(bucket: str = "amzn-s3-demo-bucket") -> str:
    return json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2014-10-13T15:57:02.089Z",
            "Bucket": bucket,
            "RequestId": "5582815E1AEA5ADF",
            "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
        }
    )


def sns_envelope(message: str, message_type: str = "Notification") -> str:
    """An SNS notification delivered to SQS without raw message delivery."""
    topic = "arn:aws:sns:us-west-2:123456789012:MyTopic"
    return json.dumps(
        {
            "Type": message_type,
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": topic,
            "Subject": "Amazon S3 Notification",
            "Message": message,
            "Timestamp": "2012-05-02T00:54:06.655Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLEw6JRNwm1LFQL4ICB0bnXrdB8ClRMTQFGBqwLpGbM78tJ4etTwC5zU7O3tS6tGpey"
            "3ejedNdOJ+1fkIp9F2/LmNVKb5aFlYq+9rk9ZiPph5YlLmWsDcyC5T+Sy9/umic5S0UQc2PEtgdpVBahwNOd"
            "MW4JPwk0kAJJztnc=",
            "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-"
            "f3ecfb7224c7233fe7bb5f59f96de52f.pem",
            "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&"
            f"SubscriptionArn={topic}:c9135db0-26c4-47ec-8998-413945fb5a96",
        }
    )


def eventbridge_event(
    key: str,
    detail_type: str = "Object Created",
    *,
    bucket: str = "amzn-s3-demo-bucket1",
    size: int = 5,
    etag: str = "b1946ac92492d2347c6235b4d2611184",
    sequencer: str = "617f08299329d189",
    time: str = "2021-11-12T00:00:00Z",
) -> str:
    """An S3 event as EventBridge delivers it to an SQS target (keys are not URL-encoded)."""
    item: dict[str, Any] = {"key": key}
    detail: dict[str, Any] = {"version": "0", "bucket": {"name": bucket}, "object": item}
    if detail_type == "Object Deleted":
        item |= {"version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e", "sequencer": sequencer}
        extra = {"reason": "DeleteObject", "deletion-type": "Delete Marker Created"}
    else:
        item |= {
            "size": size,
            "etag": etag,
            "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
            "sequencer": sequencer,
        }
        extra = {"reason": "PutObject"}
    detail |= {
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        **extra,
    }
    return json.dumps(
        {
            "version": "0",
            "id": "17793124-05d4-b198-2fde-7ededc63b103",
            "detail-type": detail_type,
            "source": "aws.s3",
            "account": "111122223333",
            "time": time,
            "region": "ca-central-1",
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": detail,
        }
    )
