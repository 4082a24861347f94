"""The S3 test server (tests/support/seaweed.py) does what the S3 storage backend relies on.

Why test the harness: when an S3 functional test fails, this says whether the server or the hub is at
fault. Each S3 feature the backend uses is checked here against the real SeaweedFS with boto3 alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from botocore.exceptions import ClientError

from tests.support.seaweed import S3Server, find_weed, start_seaweed

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    yield server
    server.stop()


def test_weed_is_found_in_the_wheel() -> None:
    weed = find_weed()
    assert weed.name == "weed" and os.access(weed, os.X_OK)


def test_env_points_a_hub_at_the_bucket(s3: S3Server) -> None:
    env = s3.env("/hubs/one/")
    assert env == {
        "MODELHUB_STORAGE_URL": f"s3://{s3.bucket}/hubs/one",
        "MODELHUB_S3_ENDPOINT": s3.endpoint,
        "MODELHUB_S3_REGION": "us-east-1",
        "MODELHUB_S3_ACCESS_KEY": s3.access_key,
        "MODELHUB_S3_SECRET_KEY": s3.secret_key,
        "MODELHUB_S3_ADDRESSING": "path",
    }
    assert s3.endpoint.startswith("http://127.0.0.1:")


def test_put_get_range_delete(s3: S3Server) -> None:
    client, key = s3.client(), "objects/put-get"
    body = bytes(range(256)) * 64
    client.put_object(Bucket=s3.bucket, Key=key, Body=body)

    assert client.get_object(Bucket=s3.bucket, Key=key)["Body"].read() == body
    ranged = client.get_object(Bucket=s3.bucket, Key=key, Range="bytes=100-299")
    assert ranged["ContentRange"] == f"bytes 100-299/{len(body)}"
    assert ranged["Body"].read() == body[100:300]
    assert client.head_object(Bucket=s3.bucket, Key=key)["ContentLength"] == len(body)

    client.delete_object(Bucket=s3.bucket, Key=key)
    with pytest.raises(ClientError) as missing:
        client.head_object(Bucket=s3.bucket, Key=key)
    assert missing.value.response["Error"]["Code"] in ("404", "NoSuchKey")


def test_credentials_are_checked(s3: S3Server) -> None:
    """A wrong secret is refused: signatures are really verified, as on AWS."""
    import boto3

    impostor = boto3.client("s3", endpoint_url=s3.endpoint, region_name=s3.region,
                            aws_access_key_id=s3.access_key, aws_secret_access_key="not-" + s3.secret_key)
    with pytest.raises(ClientError) as refused:
        impostor.list_objects_v2(Bucket=s3.bucket)
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_multipart_upload_of_three_parts(s3: S3Server) -> None:
    client, key = s3.client(), "objects/multipart"
    parts = [bytes([n]) * (5 * MiB) for n in (1, 2, 3)]
    upload = client.create_multipart_upload(Bucket=s3.bucket, Key=key)["UploadId"]
    etags = [client.upload_part(Bucket=s3.bucket, Key=key, UploadId=upload, PartNumber=n, Body=data)["ETag"]
             for n, data in enumerate(parts, start=1)]
    client.complete_multipart_upload(
        Bucket=s3.bucket, Key=key, UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]})

    got = client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    assert len(got) == 15 * MiB and got == b"".join(parts)
    # A range across the boundary of parts 1 and 2.
    across = client.get_object(Bucket=s3.bucket, Key=key, Range=f"bytes={5 * MiB - 2}-{5 * MiB + 1}")
    assert across["Body"].read() == b"\x01\x01\x02\x02"
    client.delete_object(Bucket=s3.bucket, Key=key)


def test_presigned_get_with_range(s3: S3Server) -> None:
    """What a hub's download redirect gives a client: a URL that works with no credentials, ranges too."""
    client, key = s3.client(), "objects/presigned"
    body = os.urandom(64 * 1024)
    client.put_object(Bucket=s3.bucket, Key=key, Body=body)
    url = client.generate_presigned_url("get_object", Params={"Bucket": s3.bucket, "Key": key}, ExpiresIn=300)

    whole = httpx2.get(url, timeout=30)
    assert whole.status_code == 200 and whole.content == body
    part = httpx2.get(url, headers={"Range": "bytes=1000-1999"}, timeout=30)
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(body)}"
    assert part.content == body[1000:2000]
    # The signature covers the key: the same query string on another key is refused.
    assert httpx2.get(url.replace("/presigned?", "/other?"), timeout=30).status_code == 403
    client.delete_object(Bucket=s3.bucket, Key=key)


def test_stop_ends_the_server(tmp_path: Path) -> None:
    server = start_seaweed(tmp_path / "seaweed")
    server.stop()
    assert server.proc.poll() is not None
    with pytest.raises(httpx2.TransportError):
        httpx2.get(server.endpoint, timeout=5)
    assert not any(Path("/tmp").glob(f"seaweedfs-*-grpc-{server.ports['s3.port.grpc']}.sock"))
