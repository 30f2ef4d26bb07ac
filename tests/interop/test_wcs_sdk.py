"""Interop: the official Wangsu WCS Python SDK (wcs-python3-sdk) uploads to pandrop-fakecloud.

A 6pan v2 session hands out the upload token; the SDK's own slice-upload and form-upload classes then talk
to fakecloud's /wcs host exactly as they would talk to the real one. The SDK's etag function is the
reference for the stored file's hash.
"""

import hashlib
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests

import wcs.services.uploadprogressrecorder as progress_recorder
from wcs.commons.config import Config
from wcs.commons.util import etag as sdk_etag
from wcs.services.multipartupload import MultipartUpload
from wcs.services.simpleupload import SimpleUpload

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("PANDROP_FAKECLOUD", str(ROOT / "target" / "debug" / "pandrop-fakecloud"))
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    data = tmp_path_factory.mktemp("fakecloud-data")
    log = open(tmp_path_factory.mktemp("log") / "fakecloud.log", "w")
    proc = subprocess.Popen(
        [BINARY, "--addr", "127.0.0.1:0", "--data", str(data)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith("listening "), first
        yield first.split(" ", 1)[1]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(autouse=True)
def sdk_config(tmp_path):
    """Block and chunk sizes as the 6pan web uploader uses them; resume records in a temp folder."""
    Config.block_size = 4 * MIB
    Config.bput_size = 1 * MIB
    Config.concurrency = 3
    Config.connection_timeout = 60
    # The recorder copies the folder name at import time, so both places are set.
    Config.tmp_record_folder = str(tmp_path / "records") + "/"
    progress_recorder.tmp_record_folder = Config.tmp_record_folder


def login_v2(base):
    password = hashlib.md5(b"demo-secret").hexdigest()
    resp = requests.post(f"{base}/6pan/v2/user/login", json={"value": "demo", "password": password}, timeout=30)
    assert resp.status_code == 200
    assert resp.json()["success"] is True, resp.text
    return resp.headers["qingzhen-token"]


def upload_token(base, session, body):
    resp = requests.post(f"{base}/6pan/v2/upload/token", json=body, headers={"Qingzhen-Token": session}, timeout=30)
    assert resp.status_code == 200, resp.text
    envelope = resp.json()
    assert envelope["success"] is True, envelope
    return envelope["result"], resp.headers["qingzhen-token"]


def admin_files(base):
    return requests.get(f"{base}/_admin/files", timeout=30).json()


def test_slice_upload_with_the_official_sdk(cloud, tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(10 * MIB + 12345))
    expected = sdk_etag(str(path))
    session = login_v2(cloud)

    result, session = upload_token(cloud, session, {"path": "/interop", "name": "big.bin", "hash": expected})
    assert result["hashCached"] is False
    info = result["uploadInfo"]
    assert info["type"] == "WCS/Splite"
    assert info["uploadUrl"] == f"{cloud}/wcs"

    uploader = MultipartUpload(info["uploadUrl"])
    code, body, _ = uploader.upload(str(path), info["uploadToken"])
    assert code == 200, body
    assert body["hash"] == expected
    answer = json.loads(body["response"])
    assert answer["success"] is True and answer["status"] == 0, answer
    assert answer["result"]["path"] == "/interop/big.bin"
    assert answer["result"]["hash"] == expected

    files = [f for f in admin_files(cloud) if f["provider"] == "6pan" and f["path"] == "/interop/big.bin"]
    assert len(files) == 1
    assert files[0]["etag"] == expected
    assert files[0]["size"] == path.stat().st_size
    assert files[0]["md5"] == hashlib.md5(path.read_bytes()).hexdigest()

    # Three blocks (4 + 4 + ~2 MiB), each made once and continued with 1 MiB chunks.
    stats = requests.get(f"{cloud}/_admin/stats", timeout=30).json()
    batch = stats["wcs_blocks"][uploader.uploadBatch]
    assert sorted(batch) == ["0", "1", "2"]
    assert all(block["mkblk"] == 1 for block in batch.values())
    assert [batch[b]["bput"] for b in ("0", "1", "2")] == [3, 3, 2]

    # The same content again is an instant upload.
    result, _ = upload_token(cloud, session, {"path": "/interop", "name": "again.bin", "hash": expected})
    assert result["hashCached"] is True
    assert result["file"]["path"] == "/interop/again.bin"


def test_form_upload_with_the_official_sdk(cloud, tmp_path):
    path = tmp_path / "small.txt"
    path.write_bytes(b"hello from the WCS SDK\n" * 100)
    expected = sdk_etag(str(path))
    session = login_v2(cloud)

    # No name at token time: the file is named after the uploaded file's name.
    result, _ = upload_token(cloud, session, {"path": "/interop/form"})
    info = result["uploadInfo"]
    status, text, *_ = SimpleUpload(info["uploadUrl"]).upload(str(path), info["uploadToken"], "small.txt")
    assert status == 200, text
    answer = json.loads(text)
    assert answer["success"] is True, answer
    assert answer["result"]["path"] == "/interop/form/small.txt"
    assert answer["result"]["hash"] == expected

    files = {f["path"]: f for f in admin_files(cloud) if f["provider"] == "6pan"}
    assert files["/interop/form/small.txt"]["etag"] == expected


def test_sdk_sees_an_expired_or_forged_token_as_401(cloud, tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"x" * 1000)
    session = login_v2(cloud)
    result, _ = upload_token(cloud, session, {"path": "/interop", "name": "x.bin"})
    token = result["uploadInfo"]["uploadToken"]
    ak, sign, policy = token.split(":")
    forged = ":".join([ak, sign, policy[:-4] + ("AAAA" if not policy.endswith("AAAA") else "BBBB")])
    status, text, *_ = SimpleUpload(result["uploadInfo"]["uploadUrl"]).upload(str(path), forged, "x.bin")
    assert status == 401, text
    assert json.loads(text)["code"] == 401
