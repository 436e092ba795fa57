"""The S3 API against the real clients users have (Debian's awscli, python3-boto3, s3cmd, rclone) and
the real daemon: every object uploaded is discovered once, runs its rule, is archived and readable
from the archive bucket with the same bytes, and the eTag the client got is the one the job is told."""
import hashlib
import hmac
import http.client
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import xml.dom.minidom

import boto3
import botocore
from botocore.config import Config

from harness import Deployment, wait_until

AWS = "/usr/bin/aws"  # Debian's awscli (a pyenv `aws` on PATH may be another version)
KEY_ID = "AKIDHIVEHOOKTEST"
SECRET = "s3cr3t/For+Tests"
BIG = 64 * 1024 * 1024

RULES = """\
rules:
  - name: refused
    match: {prefix: fail/}
    job: {command: [/bin/sh, -c, 'exit 1']}
    retries: 0
    on_failure: {action: quarantine}
  - name: kept
    match: {prefix: kept/}
    job: {command: [/bin/sh, -c, 'cat > "$HIVEHOOK_RESULT"']}
    on_success: {action: keep}
  - name: everything
    match: {glob: "**"}
    job: {command: [/bin/sh, -c, 'cat > "$HIVEHOOK_RESULT"']}
    on_success: {action: archive}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def md5(data):
    return hashlib.md5(data).hexdigest()


def multipart_etag(data, part_size):
    digests = [hashlib.md5(data[i:i + part_size]).digest() for i in range(0, len(data), part_size)]
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


class S3Api(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.endpoint = f"http://127.0.0.1:{cls.port}"
        cls.d = Deployment(RULES, config_extra=f"""\
            s3:
              listen: 127.0.0.1:{cls.port}
              access_key_id: {KEY_ID}
              secret_access_key: ${{S3_SECRET}}
            """, prefix="hivehook-s3-")
        cls.d.start(env={"S3_SECRET": SECRET})
        cls.work = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-s3-clients-"))
        cls.small = {"one.csv": b"a,b\n1,2\n", "nested/two.txt": b"x" * 1024, "with space/\xc3\xa9t\xc3\xa9.txt": b"utf8\n"}
        cls.big = os.urandom(BIG)
        (cls.work / "src").mkdir()
        for name, data in cls.small.items():
            p = cls.work / "src" / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        (cls.work / "big.bin").write_bytes(cls.big)
        # A clean environment for the clients: nothing of the caller's AWS configuration leaks in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_CONFIG_FILE": str(cls.work / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(cls.work / "none"),
                    "HOME": str(cls.work), "AWS_PAGER": ""})
        cls.env = env
        (cls.work / "s3cfg").write_text(
            f"[default]\naccess_key = {KEY_ID}\nsecret_key = {SECRET}\nhost_base = 127.0.0.1:{cls.port}\n"
            f"host_bucket = 127.0.0.1:{cls.port}\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n")
        cls.rclone_env = dict(env, RCLONE_CONFIG_HH_TYPE="s3", RCLONE_CONFIG_HH_PROVIDER="Other",
                              RCLONE_CONFIG_HH_ENDPOINT=cls.endpoint, RCLONE_CONFIG_HH_ACCESS_KEY_ID=KEY_ID,
                              RCLONE_CONFIG_HH_SECRET_ACCESS_KEY=SECRET, RCLONE_CONFIG_HH_REGION="us-east-1",
                              RCLONE_CONFIG="/dev/null")

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("KEEP"):
            cls.d.cleanup()
        else:
            print("kept", cls.d.dir)
        shutil.rmtree(cls.work, ignore_errors=True)

    # --- helpers -------------------------------------------------------------------------------
    def boto(self, secret=SECRET, key_id=KEY_ID):
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=key_id, aws_secret_access_key=secret,
                            region_name="us-east-1", config=Config(signature_version="s3v4", retries={"max_attempts": 1}))

    def run_client(self, *argv, env=None, check=True):
        r = subprocess.run(argv, capture_output=True, env=env or self.env, timeout=600, cwd=self.work)
        if check and r.returncode != 0:
            self.fail(f"{' '.join(map(str, argv))} exited {r.returncode}:\n{r.stdout.decode(errors='replace')}"
                      f"\n{r.stderr.decode(errors='replace')}\n--- daemon log:\n{self.d.log.read_text(errors='replace')[-3000:]}")
        return r

    def aws(self, *args, check=True):
        return self.run_client(AWS, "--endpoint-url", self.endpoint, "--no-progress" if args[0] == "s3" and args[1] in
                               ("cp", "mv", "sync") else "--output=json", *args, check=check)

    def s3cmd(self, *args, check=True):
        return self.run_client("s3cmd", "-c", str(self.work / "s3cfg"), "--no-progress", *args, check=check)

    def rclone(self, *args, check=True):
        return self.run_client("rclone", "--retries", "1", *args, env=self.rclone_env, check=check)

    def objects(self, key):
        return self.d.query("SELECT id, state, etag, size FROM objects WHERE key=?", key)

    def wait_processed(self, key, state=b"archived"):
        wait_until(lambda: any(r[1] == state for r in self.objects(key)), timeout=120,
                   message=f"{key} {state.decode()}")

    def assert_processed_once(self, key, etag, size, state=b"archived"):
        """Discovered once, one run whose event carries the client's eTag, and where it should be."""
        self.wait_processed(key, state)
        rows = self.objects(key)
        self.assertEqual(len(rows), 1, f"{key} discovered {len(rows)} times")
        oid, _, db_etag, db_size = rows[0]
        self.assertEqual(db_etag.decode(), etag, key)
        self.assertEqual(db_size, size, key)
        runs = self.d.query("SELECT state, result FROM runs WHERE object_id=?", oid)
        self.assertEqual(len(runs), 1, f"{key} ran {len(runs)} times")
        event = json.loads(runs[0][1])
        obj = event["Records"][0]["s3"]["object"]
        self.assertEqual(event["Records"][0]["awsRegion"], "us-east-1")  # s3.region, not "local"
        self.assertEqual(obj["eTag"], etag)
        self.assertEqual(obj["size"], size)

    def landing_files(self):
        return self.d.files(self.d.landing)

    # --- every client end to end ---------------------------------------------------------------
    def check_uploaded_set(self, prefix, big_etag):
        for name, data in self.small.items():
            self.assert_processed_once(f"{prefix}/{name}", md5(data), len(data))
            self.assertEqual((self.d.archive / prefix / name).read_bytes(), data)
        self.assert_processed_once(f"{prefix}/big.bin", big_etag, BIG)
        self.assertEqual(md5((self.d.archive / prefix / "big.bin").read_bytes()), md5(self.big))

    def test_awscli(self):
        self.aws("s3", "cp", "--recursive", "src", "s3://landing/aws/")
        self.aws("s3", "cp", "big.bin", "s3://landing/aws/big.bin")
        self.check_uploaded_set("aws", multipart_etag(self.big, 8 * 1024 * 1024))  # the CLI's 8 MiB parts
        # Lists, with and without a delimiter.
        flat = self.aws("s3", "ls", "--recursive", "s3://archive/aws/").stdout.decode()
        for name in list(self.small) + ["big.bin"]:
            self.assertIn(f"aws/{name}", flat)
        top = self.aws("s3", "ls", "s3://archive/aws/").stdout.decode()
        self.assertIn("PRE nested/", top)
        self.assertIn("PRE with space/", top)
        self.assertIn("one.csv", top)
        self.assertNotIn("two.txt", top)
        # Downloads, whole and ranged.
        self.aws("s3", "cp", "s3://archive/aws/big.bin", "down.bin")
        self.assertEqual(md5((self.work / "down.bin").read_bytes()), md5(self.big))
        r = self.aws("s3api", "get-object", "--bucket", "archive", "--key", "aws/big.bin", "--range", "bytes=100-199",
                     "part.bin")
        self.assertEqual((self.work / "part.bin").read_bytes(), self.big[100:200])
        self.assertEqual(json.loads(r.stdout)["ContentRange"], f"bytes 100-199/{BIG}")
        # Copy (from the archive back into landing: a new arrival) and delete.
        self.aws("s3", "cp", "s3://archive/aws/one.csv", "s3://landing/aws-copy/one.csv")
        self.assert_processed_once("aws-copy/one.csv", md5(self.small["one.csv"]), len(self.small["one.csv"]))
        self.aws("s3", "cp", "src/one.csv", "s3://landing/kept/aws/one.csv")
        self.wait_processed("kept/aws/one.csv", b"kept")
        self.aws("s3", "rm", "s3://landing/kept/aws/one.csv")
        self.assertFalse((self.d.landing / "kept/aws/one.csv").exists())
        # Archive is hivehook's: a client cannot write or delete there.
        r = self.aws("s3", "cp", "src/one.csv", "s3://archive/aws/x.csv", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"AccessDenied", r.stderr)
        r = self.aws("s3", "rm", "s3://archive/aws/one.csv", check=False)
        self.assertIn(b"AccessDenied", r.stderr)
        self.assertTrue((self.d.archive / "aws/one.csv").exists())

    def test_boto3(self):
        s3 = self.boto()
        for name, data in self.small.items():
            s3.put_object(Bucket="landing", Key=f"boto/{name}", Body=data)
        # upload_file with the e-commerce team's retry settings: multipart, parallel parts.
        from boto3.s3.transfer import TransferConfig
        s3.upload_file(str(self.work / "big.bin"), "landing", "boto/big.bin",
                       Config=TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=10))
        self.check_uploaded_set("boto", multipart_etag(self.big, 8 << 20))
        head = s3.head_object(Bucket="archive", Key="boto/big.bin")
        self.assertEqual(head["ETag"], '"' + multipart_etag(self.big, 8 << 20) + '"')
        self.assertEqual(head["ContentLength"], BIG)
        # ListObjectsV2: pages of 2 with continuation tokens, then with a delimiter.
        keys, token = [], None
        while True:
            kw = {"Bucket": "archive", "Prefix": "boto/", "MaxKeys": 2}
            if token:
                kw["ContinuationToken"] = token
            page = s3.list_objects_v2(**kw)
            keys += [o["Key"] for o in page.get("Contents", [])]
            if not page["IsTruncated"]:
                break
            token = page["NextContinuationToken"]
        self.assertEqual(keys, sorted(f"boto/{n}" for n in list(self.small) + ["big.bin"]))
        page = s3.list_objects_v2(Bucket="archive", Prefix="boto/", Delimiter="/")
        self.assertEqual([p["Prefix"] for p in page["CommonPrefixes"]], ["boto/nested/", "boto/with space/"])
        self.assertEqual(sorted(o["Key"] for o in page["Contents"]), ["boto/big.bin", "boto/one.csv"])
        # Ranged and whole downloads.
        got = s3.get_object(Bucket="archive", Key="boto/big.bin", Range=f"bytes=-1000")["Body"].read()
        self.assertEqual(got, self.big[-1000:])
        s3.download_file("archive", "boto/big.bin", str(self.work / "boto-down.bin"))
        self.assertEqual(md5((self.work / "boto-down.bin").read_bytes()), md5(self.big))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.get_object(Bucket="archive", Key="boto/big.bin", Range=f"bytes={BIG}-")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidRange")
        # Copy and batch delete.
        s3.copy_object(Bucket="landing", Key="kept/boto/copy.csv", CopySource={"Bucket": "archive", "Key": "boto/one.csv"})
        s3.put_object(Bucket="landing", Key="kept/boto/two.csv", Body=b"2\n")
        self.wait_processed("kept/boto/copy.csv", b"kept")
        self.wait_processed("kept/boto/two.csv", b"kept")
        self.assertEqual((self.d.landing / "kept/boto/copy.csv").read_bytes(), self.small["one.csv"])
        out = s3.delete_objects(Bucket="landing", Delete={"Objects": [{"Key": "kept/boto/copy.csv"}, {"Key": "kept/boto/two.csv"}]})
        self.assertEqual(sorted(d["Key"] for d in out["Deleted"]), ["kept/boto/copy.csv", "kept/boto/two.csv"])
        self.assertFalse((self.d.landing / "kept/boto").exists() and any((self.d.landing / "kept/boto").iterdir()))
        # ListBuckets lists the three trees; HeadBucket.
        self.assertEqual(sorted(b["Name"] for b in s3.list_buckets()["Buckets"]), ["archive", "landing", "quarantine"])
        s3.head_bucket(Bucket="quarantine")

    def test_event_names_the_operation_and_carries_the_request_ids_the_client_got(self):
        """Was: every job was told eventName ObjectCreated:Put, also for a CopyObject and a
        CompleteMultipartUpload, and responseElements held ids no client had seen."""
        s3 = self.boto()
        made = {}
        made["event/put.csv"] = ("ObjectCreated:Put", s3.put_object(Bucket="landing", Key="event/put.csv", Body=b"p\n"))
        s3.put_object(Bucket="landing", Key="kept/event/source.csv", Body=b"c\n")
        made["event/copy.csv"] = ("ObjectCreated:Copy", s3.copy_object(
            Bucket="landing", Key="event/copy.csv", CopySource={"Bucket": "landing", "Key": "kept/event/source.csv"}))
        up = s3.create_multipart_upload(Bucket="landing", Key="event/multi.bin")
        part = s3.upload_part(Bucket="landing", Key="event/multi.bin", UploadId=up["UploadId"], PartNumber=1, Body=b"m" * 100)
        made["event/multi.bin"] = ("ObjectCreated:CompleteMultipartUpload", s3.complete_multipart_upload(
            Bucket="landing", Key="event/multi.bin", UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}))
        (self.d.landing / "event").mkdir(exist_ok=True)
        (self.d.landing / "event/dropped.csv.tmp").write_bytes(b"d\n")
        os.rename(self.d.landing / "event/dropped.csv.tmp", self.d.landing / "event/dropped.csv")
        ids = set()
        for key, (name, response) in made.items():
            self.wait_processed(key)
            (oid,) = self.objects(key)[0][:1]
            record = json.loads(self.d.query("SELECT result FROM runs WHERE object_id=?", oid)[0][0])["Records"][0]
            headers = response["ResponseMetadata"]["HTTPHeaders"]
            self.assertEqual(record["eventName"], name, key)
            self.assertEqual(record["responseElements"]["x-amz-request-id"], headers["x-amz-request-id"], key)
            self.assertEqual(record["responseElements"]["x-amz-id-2"], headers["x-amz-id-2"], key)
            ids.add(headers["x-amz-request-id"])
        self.assertEqual(len(ids), 3)
        # A file dropped into landing keeps DESIGN.md's ObjectCreated:Put and ids of its own.
        self.wait_processed("event/dropped.csv")
        (oid,) = self.objects("event/dropped.csv")[0][:1]
        record = json.loads(self.d.query("SELECT result FROM runs WHERE object_id=?", oid)[0][0])["Records"][0]
        self.assertEqual(record["eventName"], "ObjectCreated:Put")
        self.assertNotIn(record["responseElements"]["x-amz-request-id"], ids)

    def test_a_browser_form_upload_is_not_implemented_not_anonymous(self):
        """Finding F9: a presigned POST (generate_presigned_post) was answered 403 'Anonymous access is
        not allowed' although it was signed; hivehook does not serve POST Object, and now says so."""
        post = self.boto().generate_presigned_post("landing", "form/post.txt", ExpiresIn=60)
        boundary = "hivehookformboundary"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in post["fields"].items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="post.txt"\r\n'
                     f'Content-Type: text/plain\r\n\r\nform\r\n--{boundary}--\r\n'.encode())
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("POST", "/landing", body=b"".join(parts),
                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        resp = conn.getresponse()
        body = resp.read()
        self.assertEqual(resp.status, 501, body)
        self.assertIn(b"<Code>NotImplemented</Code>", body)
        self.assertIn(b"presigned PUT URL", body)
        self.assertFalse((self.d.landing / "form").exists())

    def test_metadata_over_s3s_2_kb_is_refused_and_kept_headers_are_never_dropped(self):
        """Finding F10: 12 KB of x-amz-meta-* (or 500 keys) got 200, then the metadata and the
        Content-Type were gone (the xattr write failed and was ignored)."""
        s3 = self.boto()
        for meta in ({"big": "v" * 12000}, {f"k{i}": "v" for i in range(500)}, {"big": "v" * 2046}):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                s3.put_object(Bucket="landing", Key="kept/meta/too-big.txt", Body=b"m", Metadata=meta, ContentType="text/plain")
            self.assertEqual(cm.exception.response["Error"]["Code"], "MetadataTooLarge")
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                s3.create_multipart_upload(Bucket="landing", Key="kept/meta/too-big.bin", Metadata=meta)
            self.assertEqual(cm.exception.response["Error"]["Code"], "MetadataTooLarge")
        self.assertFalse((self.d.landing / "kept/meta/too-big.txt").exists())
        s3.put_object(Bucket="landing", Key="kept/meta/fits.txt", Body=b"m", Metadata={"big": "v" * 2045},
                      ContentType="text/plain")
        head = s3.head_object(Bucket="landing", Key="kept/meta/fits.txt")
        self.assertEqual(head["Metadata"], {"big": "v" * 2045})
        self.assertEqual(head["ContentType"], "text/plain")
        # Other headers are limited by what the filesystem keeps beside a file: served back, or refused.
        try:
            s3.put_object(Bucket="landing", Key="kept/meta/disposition.txt", Body=b"d", ContentType="text/plain",
                          ContentDisposition="attachment; filename=" + "d" * 9000 + ".txt")
        except botocore.exceptions.ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "MetadataTooLarge")
        else:
            head = s3.head_object(Bucket="landing", Key="kept/meta/disposition.txt")
            self.assertEqual(head["ContentType"], "text/plain")
            self.assertTrue(head["ContentDisposition"].endswith("d.txt"))

    def test_list_multipart_uploads_rolls_keys_up_at_the_delimiter(self):
        """Finding F14: ListMultipartUploads ignored `delimiter`."""
        s3 = self.boto()
        ids = [(k, s3.create_multipart_upload(Bucket="landing", Key=k)["UploadId"])
               for k in ["lmu/0/x.bin", "lmu/0/y.bin", "lmu/1/x.bin", "lmu/top.bin"]]
        try:
            page = s3.list_multipart_uploads(Bucket="landing", Prefix="lmu/", Delimiter="/")
            self.assertEqual([p["Prefix"] for p in page["CommonPrefixes"]], ["lmu/0/", "lmu/1/"])
            self.assertEqual([u["Key"] for u in page["Uploads"]], ["lmu/top.bin"])
            page = s3.list_multipart_uploads(Bucket="landing", Prefix="lmu/")
            self.assertEqual(sorted(u["Key"] for u in page["Uploads"]), sorted(k for k, _ in ids))
        finally:
            for k, upload_id in ids:
                s3.abort_multipart_upload(Bucket="landing", Key=k, UploadId=upload_id)

    def signed(self, method, path, query="", body=b"", headers=None):
        """A raw SigV4-signed request (body hashed), answered as (status, headers, body)."""
        url = f"{self.endpoint}{path}" + (f"?{query}" if query else "")
        req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=headers or {})
        botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(KEY_ID, SECRET), "s3", "us-east-1").add_auth(req)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path + (f"?{query}" if query else ""), body=body, headers=dict(req.headers))
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()

    def test_a_deeply_nested_xml_body_is_malformed_and_the_daemon_lives(self):
        """Finding F15: a signed DeleteObjects body nested 100,000 deep overflowed the parser's stack
        and killed the daemon."""
        import base64
        body = b"<Delete>" + b"<a>" * 100000 + b"</Delete>"
        status, _, answer = self.signed("POST", "/landing", "delete=", body,
                                        {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()})
        self.assertEqual(status, 400, answer[:500])
        self.assertIn(b"<Code>MalformedXML</Code>", answer)
        self.assertIsNone(self.d.proc.poll(), "the daemon died")
        self.assertEqual(self.boto().list_buckets()["ResponseMetadata"]["HTTPStatusCode"], 200)

    def test_a_response_header_override_with_cr_lf_is_refused_not_injected(self):
        """Finding F17: response-content-type=a%0D%0AX-Injected:%201 came back as two headers (and
        %0D%0A%0D%0A split the response), presigned URLs included."""
        s3 = self.boto()
        s3.put_object(Bucket="landing", Key="kept/split/x.txt", Body=b"x")
        url = s3.generate_presigned_url("get_object", Params={
            "Bucket": "landing", "Key": "kept/split/x.txt", "ResponseContentType": "text/html\r\nSet-Cookie: session=evil"},
            ExpiresIn=60)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(url, timeout=30)
        self.assertEqual(cm.exception.code, 400)
        self.assertIsNone(cm.exception.headers.get("Set-Cookie"))
        self.assertIn(b"InvalidArgument", cm.exception.read())
        ok = s3.get_object(Bucket="landing", Key="kept/split/x.txt", ResponseContentType="text/plain")
        self.assertEqual(ok["ContentType"], "text/plain")

    def test_s3cmd(self):
        self.s3cmd("put", "--recursive", "src/", "s3://landing/s3cmd/")
        self.s3cmd("put", "big.bin", "s3://landing/s3cmd/big.bin")  # 15 MiB parts by default
        self.check_uploaded_set("s3cmd", multipart_etag(self.big, 15 * 1024 * 1024))
        flat = self.s3cmd("ls", "--recursive", "s3://archive/s3cmd/").stdout.decode()
        self.assertIn("s3://archive/s3cmd/nested/two.txt", flat)
        top = self.s3cmd("ls", "s3://archive/s3cmd/").stdout.decode()
        self.assertIn("DIR  s3://archive/s3cmd/nested/", top)
        self.assertNotIn("two.txt", top)
        self.s3cmd("get", "--force", "s3://archive/s3cmd/big.bin", "s3cmd-down.bin")
        self.assertEqual(md5((self.work / "s3cmd-down.bin").read_bytes()), md5(self.big))
        self.s3cmd("cp", "s3://archive/s3cmd/one.csv", "s3://landing/kept/s3cmd/one.csv")
        self.wait_processed("kept/s3cmd/one.csv", b"kept")
        self.s3cmd("del", "s3://landing/kept/s3cmd/one.csv")
        self.assertFalse((self.d.landing / "kept/s3cmd/one.csv").exists())

    def test_rclone(self):
        self.rclone("copy", "src", "hh:landing/rclone/")
        # rclone uploads in one PUT up to 200 MiB unless told otherwise; 5 MiB chunks, 4 at a time.
        self.rclone("copyto", "--s3-upload-cutoff", "16M", "big.bin", "hh:landing/rclone/big.bin")
        self.check_uploaded_set("rclone", multipart_etag(self.big, 5 * 1024 * 1024))
        flat = self.rclone("lsf", "-R", "hh:archive/rclone").stdout.decode().split()
        self.assertIn("nested/two.txt", flat)
        top = self.rclone("lsf", "hh:archive/rclone").stdout.decode().splitlines()
        self.assertIn("nested/", top)
        self.assertNotIn("nested/two.txt", top)
        self.rclone("copyto", "hh:archive/rclone/big.bin", "rclone-down.bin")
        self.assertEqual(md5((self.work / "rclone-down.bin").read_bytes()), md5(self.big))
        r = self.rclone("cat", "--offset", "10", "--count", "20", "hh:archive/rclone/big.bin")
        self.assertEqual(r.stdout, self.big[10:30])
        self.rclone("copyto", "hh:archive/rclone/one.csv", "hh:landing/kept/rclone/one.csv")
        self.wait_processed("kept/rclone/one.csv", b"kept")
        self.rclone("deletefile", "hh:landing/kept/rclone/one.csv")
        self.assertFalse((self.d.landing / "kept/rclone/one.csv").exists())

    # --- server-side copy of a large object (F1) ------------------------------------------------
    def test_cli_cp_mv_and_boto3_copy_of_64_mib_are_not_refused_tagging_or_upload_part_copy(self):
        """aws s3 cp/mv between buckets ask for the source's tags (GetObjectTagging), then copy an object
        >= 8 MiB in parts (UploadPartCopy), as does boto3's managed copy(): both were 501."""
        self.aws("s3", "cp", "big.bin", "s3://landing/bigcopy/src.bin")
        self.wait_processed("bigcopy/src.bin")
        cli_etag = multipart_etag(self.big, 8 << 20)  # the CLI's and boto3's 8 MiB parts
        # archive -> landing, then landing -> landing with mv (the source goes).
        def kept_once(key):  # kept/ keys also match the catch-all rule: two runs, one object
            self.wait_processed(key, b"kept")
            rows = self.objects(key)
            self.assertEqual(len(rows), 1, f"{key} discovered {len(rows)} times")
            self.assertEqual(rows[0][2].decode(), cli_etag, key)
            self.assertEqual(rows[0][3], BIG, key)
        self.aws("s3", "cp", "s3://archive/bigcopy/src.bin", "s3://landing/kept/bigcopy/cp.bin")
        kept_once("kept/bigcopy/cp.bin")
        self.assertEqual(md5((self.d.landing / "kept/bigcopy/cp.bin").read_bytes()), md5(self.big))
        self.aws("s3", "mv", "s3://landing/kept/bigcopy/cp.bin", "s3://landing/kept/bigcopy/mv.bin")
        kept_once("kept/bigcopy/mv.bin")
        self.assertEqual(md5((self.d.landing / "kept/bigcopy/mv.bin").read_bytes()), md5(self.big))
        self.assertFalse((self.d.landing / "kept/bigcopy/cp.bin").exists())
        # boto3's managed copy (multipart over 8 MiB: UploadPartCopy with x-amz-copy-source-range).
        s3 = self.boto()
        s3.copy({"Bucket": "archive", "Key": "bigcopy/src.bin"}, "landing", "kept/bigcopy/boto.bin")
        kept_once("kept/bigcopy/boto.bin")
        got = s3.get_object(Bucket="landing", Key="kept/bigcopy/boto.bin")["Body"].read()
        self.assertEqual(md5(got), md5(self.big))
        # Tags: none to read, and writing them is refused as x-amz-tagging on a write is.
        self.assertEqual(s3.get_object_tagging(Bucket="archive", Key="bigcopy/src.bin")["TagSet"], [])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.put_object_tagging(Bucket="landing", Key="kept/bigcopy/boto.bin",
                                  Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
        self.assertEqual(cm.exception.response["Error"]["Code"], "NotImplemented")
        self.assertIn("no object tags", cm.exception.response["Error"]["Message"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.get_object_tagging(Bucket="archive", Key="bigcopy/nope.bin")
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchKey")

    def test_upload_part_copy_copies_the_source_range_it_is_given(self):
        s3 = self.boto()
        src = bytes(range(256)) * (24 * 1024 * 1024 // 256)  # 24 MiB, every byte's place visible
        s3.put_object(Bucket="landing", Key="kept/upc/src.bin", Body=src)
        self.wait_processed("kept/upc/src.bin", b"kept")
        key = "kept/upc/joined.bin"
        up = s3.create_multipart_upload(Bucket="landing", Key=key)["UploadId"]
        source = {"Bucket": "landing", "Key": "kept/upc/src.bin"}
        ranges = [(7, 7 + (5 << 20) - 1), (0, (6 << 20) - 1), (len(src) - 10, len(src) - 1)]
        parts = []
        for n, (a, b) in enumerate(ranges, 1):
            out = s3.upload_part_copy(Bucket="landing", Key=key, UploadId=up, PartNumber=n, CopySource=source,
                                      CopySourceRange=f"bytes={a}-{b}")
            self.assertEqual(out["CopyPartResult"]["ETag"], '"' + md5(src[a:b + 1]) + '"')
            parts.append({"PartNumber": n, "ETag": out["CopyPartResult"]["ETag"]})
        for bad in (f"bytes=0-{len(src)}", "bytes=5-", "bytes=9-3", "0-10"):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                s3.upload_part_copy(Bucket="landing", Key=key, UploadId=up, PartNumber=9, CopySource=source,
                                    CopySourceRange=bad)
            self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument", bad)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.upload_part_copy(Bucket="landing", Key=key, UploadId=up, PartNumber=9,
                                CopySource={"Bucket": "landing", "Key": "kept/upc/nope.bin"})
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchKey")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.upload_part_copy(Bucket="landing", Key=key, UploadId=up, PartNumber=9, CopySource=source,
                                CopySourceIfMatch='"' + "0" * 32 + '"')
        self.assertEqual(cm.exception.response["Error"]["Code"], "PreconditionFailed")
        s3.complete_multipart_upload(Bucket="landing", Key=key, UploadId=up, MultipartUpload={"Parts": parts})
        self.wait_processed(key, b"kept")
        want = b"".join(src[a:b + 1] for a, b in ranges)
        self.assertEqual((self.d.landing / key).read_bytes(), want)

    # --- dropped files whose names are no S3 key (F4) ------------------------------------------
    def test_listing_next_to_a_non_utf8_or_control_character_name_is_well_formed_xml_and_every_key_fetchable(self):
        """A dropped Latin-1 name put its raw byte into <Key> (s3cmd's listing crashed on malformed XML)
        and was listed to aws/rclone as a key they could not fetch; a control character came back as
        U+FFFD, another key."""
        names = {b"lat1-\xe9t\xe9.csv": b"latin1\n", b"ctl-\x01.csv": b"ctl\n", b"plain.csv": b"plain\n"}
        (self.d.landing / "odd").mkdir(exist_ok=True)
        for name, data in names.items():
            tmp = os.path.join(bytes(self.d.staging), name)
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, os.path.join(bytes(self.d.landing), b"odd", name))
        archived = os.path.join(bytes(self.d.archive), b"odd")
        wait_until(lambda: os.path.isdir(archived) and set(os.listdir(archived)) >= set(names), timeout=120,
                   message="the odd names archived")
        # s3cmd lists without encoding-type=url: well-formed, the neighbour listed, the odd names left out.
        out = self.s3cmd("ls", "s3://archive/odd/").stdout
        self.assertIn(b"s3://archive/odd/plain.csv", out)
        self.assertNotIn(b"lat1", out)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        req = botocore.awsrequest.AWSRequest(method="GET", url=f"{self.endpoint}/archive?prefix=odd%2F")
        botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(KEY_ID, SECRET), "s3", "us-east-1").add_auth(req)
        conn.request("GET", "/archive?prefix=odd%2F", headers=dict(req.headers))
        body = conn.getresponse().read()
        keys = [k.firstChild.data for k in xml.dom.minidom.parseString(body).getElementsByTagName("Key")]
        self.assertEqual(keys, ["odd/plain.csv"])
        # With encoding-type=url (aws, boto3, rclone send it) the control character is listed exactly,
        # and every key listed is fetched: whole-prefix copies succeed.
        s3 = self.boto()
        listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="archive", Prefix="odd/")["Contents"])
        self.assertEqual(listed, ["odd/ctl-\x01.csv", "odd/plain.csv"])
        for key in listed:
            self.assertEqual(s3.get_object(Bucket="archive", Key=key)["Body"].read(), names[key[4:].encode()])
        self.aws("s3", "cp", "--recursive", "s3://archive/odd/", "odd-aws/")
        self.assertEqual((self.work / "odd-aws/plain.csv").read_bytes(), b"plain\n")
        self.rclone("copy", "hh:archive/odd", "odd-rclone")
        self.assertEqual((self.work / "odd-rclone/plain.csv").read_bytes(), b"plain\n")
        # The operator is told, per file, what to do: the warning names the file as a shell word and
        # gives a rename to paste (was: one warning per daemon life, the name shown with U+FFFD, which
        # matches no file). Pasted as given, the file becomes a key every client can reach.
        wait_until(lambda: b"is not UTF-8" in self.d.log.read_bytes(), timeout=10, message="the warning")
        log = self.d.log.read_text(errors="replace")
        self.assertIn("only to clients that ask for encoding-type=url", log)
        rename = re.search(r"mv -n -- (\$'(?:[^'\\]|\\.)*') (\$'(?:[^'\\]|\\.)*')", log)
        self.assertIsNotNone(rename, log[-3000:])
        self.assertIn("/archive/odd/lat1-\\xe9t\\xe9.csv", rename.group(1))
        subprocess.run(["bash", "-c", rename.group(0)], check=True)
        self.assertEqual(s3.get_object(Bucket="archive", Key="odd/lat1-\u00e9t\u00e9.csv")["Body"].read(), b"latin1\n")

    # --- refusals ------------------------------------------------------------------------------
    def test_wrong_secret_unknown_key_and_expired_presigned_url(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.boto(secret="wrong").put_object(Bucket="landing", Key="denied/x", Body=b"x")
        self.assertEqual(cm.exception.response["Error"]["Code"], "SignatureDoesNotMatch")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.boto(key_id="NOSUCHKEY").list_objects_v2(Bucket="landing")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidAccessKeyId")
        env = dict(self.env, AWS_SECRET_ACCESS_KEY="wrong")
        r = self.run_client(AWS, "--endpoint-url", self.endpoint, "s3", "ls", "s3://landing/", env=env, check=False)
        self.assertIn(b"SignatureDoesNotMatch", r.stderr)
        # Anonymous requests are refused.
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(f"{self.endpoint}/landing?list-type=2")
        self.assertEqual(cm.exception.code, 403)
        self.assertIn(b"<Code>AccessDenied</Code>", cm.exception.read())
        # A presigned URL works until it expires, then AccessDenied.
        s3 = self.boto()
        s3.put_object(Bucket="landing", Key="kept/presign.txt", Body=b"presigned\n")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "landing", "Key": "kept/presign.txt"}, ExpiresIn=1)
        issued = time.time()
        try:
            self.assertEqual(urllib.request.urlopen(url).read(), b"presigned\n")
        except urllib.error.HTTPError:
            self.assertGreater(time.time() - issued, 1)  # too slow a machine: it expired already

        def expired():
            try:
                urllib.request.urlopen(url)
                return False
            except urllib.error.HTTPError as e:
                body = e.read()
                return e.code == 403 and b"<Code>AccessDenied</Code>" in body and b"Request has expired" in body
        wait_until(expired, timeout=30, message="the presigned URL to expire")
        self.assertEqual(self.objects("denied/x"), [])

    def test_hostile_keys_are_invalid_argument_and_write_nothing(self):
        before = self.landing_files()
        s3 = self.boto()
        for key in ["../x", "a/../../x", "a//b", "a/./b", "k" * 1025, "ctl\x01char", "tab\tkey", "/abs", "dir/",
                    ".hivehook-tmp-x", "a/" + "n" * 256, "c1/nel\u0085x.csv", "c1/csi\u009b.csv", "bidi/rlo\u202egpj.exe",
                    "bidi/lri\u2066x.csv"]:
            with self.subTest(key=key[:40]):
                with self.assertRaises(botocore.exceptions.ClientError) as cm:
                    s3.put_object(Bucket="landing", Key=key, Body=b"evil")
                self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument", key[:40])
                with self.assertRaises(botocore.exceptions.ClientError) as cm:
                    s3.create_multipart_upload(Bucket="landing", Key=key)
                self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")
        # The raw wire, where no client normalises anything.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("PUT", "/landing/%2E%2E/escape", body=b"evil", headers={"Content-Length": "4"})
        self.assertEqual(conn.getresponse().status, 403)  # unsigned: refused before anything else
        self.assertEqual(self.landing_files(), before)
        self.assertFalse((self.d.dir / "escape").exists())
        self.assertFalse((self.d.dir / "x").exists())

    def test_r4_a_file_name_too_long_for_its_versions_and_error_documents_is_refused(self):
        """Retest R4: a 255-byte file name was accepted, and hivehook then cut it to name a later
        version (read back as a key nobody uploaded, the stale version served) and could not name
        its error document (move_failed for ever). File names are limited to 215 bytes."""
        s3 = self.boto()
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.put_object(Bucket="landing", Key="kept/long/" + "n" * 212 + ".csv", Body=b"x")  # 216 bytes
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")
        self.assertIn("at most 215", cm.exception.response["Error"]["Message"])
        key = "fail/long/" + "n" * 211 + ".csv"  # 215 bytes: two failures, both versions and errors kept
        s3.put_object(Bucket="landing", Key=key, Body=b"A")
        self.wait_processed(key, b"quarantined")
        s3.put_object(Bucket="landing", Key=key, Body=b"B")
        wait_until(lambda: len(self.d.query("SELECT id FROM objects WHERE key=? AND state='quarantined'", key)) == 2,
                   timeout=60, message="the second version quarantined")
        self.assertEqual(s3.get_object(Bucket="quarantine", Key=key)["Body"].read(), b"B")
        names = sorted(os.listdir(self.d.quarantine / "fail/long"))
        self.assertEqual(len([n for n in names if n.endswith(".error.json")]), 2, names)
        self.assertEqual([o["Key"] for o in s3.list_objects_v2(Bucket="quarantine", Prefix="fail/long/")["Contents"]
                          if not o["Key"].endswith(".error.json")], [key])
        # A file dropped into landing with a 255-byte name (no S3 rule stops it) is quarantined, not
        # stuck in move_failed: its error document goes under a shortened name ("~h<hash>").
        dropped = "fail/longd/" + "n" * 251 + ".csv"
        self.d.drop(dropped, b"D")
        self.wait_processed(dropped, b"quarantined")
        docs = [n for n in os.listdir(self.d.quarantine / "fail/longd") if n.endswith(".error.json")]
        self.assertEqual(len(docs), 1, docs)
        self.assertIn("~h", docs[0])
        self.assertEqual(json.loads((self.d.quarantine / "fail/longd" / docs[0]).read_text())["key"], dropped)

    def test_reads_in_a_large_archive_folder_follow_new_versions_and_reverts(self):
        """Retest R14: every GET/HEAD of an archived key listed its whole folder; a large folder's
        names are now kept while the folder is unchanged. Whatever is kept, a read still answers
        the latest version: after a new version arrives (a new name) and after a revert (no new
        name, the stored file's ctime brought forward)."""
        s3 = self.boto()
        folder = self.d.archive / "large"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(600):
            (folder / f"other{i:04}.csv").write_bytes(b"o")
        def settled():  # the folder unchanged for longer than the 100 ms a kept listing needs
            return time.time() - folder.stat().st_mtime > 0.15
        key = "large/x.csv"
        for n, body in enumerate([b"A", b"B", b"A"], 1):
            s3.put_object(Bucket="landing", Key=key, Body=body)
            wait_until(lambda: len(self.d.query("SELECT id FROM objects WHERE key=? AND state IN ('archived','duplicate')",
                                                key)) == n, timeout=60, message=f"upload {n} processed")
            wait_until(settled, timeout=10, message="the folder settled")
            for _ in range(2):  # the second read from the kept listing
                self.assertEqual(s3.get_object(Bucket="archive", Key=key)["Body"].read(), body, n)
                self.assertEqual(s3.head_object(Bucket="archive", Key=key)["ETag"], f'"{md5(body)}"')
        self.assertEqual(s3.get_object(Bucket="archive", Key="large/other0599.csv")["Body"].read(), b"o")

    def test_s3_error_codes_of_the_edges(self):
        s3 = self.boto()

        def code(fn, **kw):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                fn(**kw)
            return cm.exception.response["Error"]["Code"]

        # Multipart: parts must exist with their eTags, in order, every one but the last >= 5 MiB.
        key = "kept/edges/mp.bin"
        up = s3.create_multipart_upload(Bucket="landing", Key=key)["UploadId"]
        p1 = s3.upload_part(Bucket="landing", Key=key, UploadId=up, PartNumber=1, Body=b"a" * 1024)["ETag"]
        p2 = s3.upload_part(Bucket="landing", Key=key, UploadId=up, PartNumber=2, Body=b"b" * 1024)["ETag"]
        parts = s3.list_parts(Bucket="landing", Key=key, UploadId=up)["Parts"]
        self.assertEqual([(p["PartNumber"], p["ETag"], p["Size"]) for p in parts], [(1, p1, 1024), (2, p2, 1024)])
        complete = lambda parts: s3.complete_multipart_upload(Bucket="landing", Key=key, UploadId=up,  # noqa: E731
                                                               MultipartUpload={"Parts": parts})
        self.assertEqual(code(complete, parts=[{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]), "InvalidPart")
        self.assertEqual(code(complete, parts=[{"PartNumber": 2, "ETag": p2}, {"PartNumber": 1, "ETag": p1}]),
                         "InvalidPartOrder")
        self.assertEqual(code(complete, parts=[{"PartNumber": 1, "ETag": p1}, {"PartNumber": 2, "ETag": p2}]),
                         "EntityTooSmall")
        self.assertEqual(code(s3.upload_part, Bucket="landing", Key=key, UploadId=up, PartNumber=10001, Body=b"x"),
                         "InvalidArgument")
        out = complete([{"PartNumber": 2, "ETag": p2}])  # a single (last) part may be small
        self.assertEqual(out["ETag"], '"' + multipart_etag(b"b" * 1024, 1024) + '"')
        self.wait_processed(key, b"kept")
        self.assertEqual(self.objects(key)[0][2].decode(), multipart_etag(b"b" * 1024, 1024))
        self.assertEqual(code(s3.upload_part, Bucket="landing", Key=key, UploadId=up, PartNumber=3, Body=b"x"),
                         "NoSuchUpload")
        up2 = s3.create_multipart_upload(Bucket="landing", Key="kept/edges/aborted.bin")["UploadId"]
        s3.upload_part(Bucket="landing", Key="kept/edges/aborted.bin", UploadId=up2, PartNumber=1, Body=b"z")
        s3.abort_multipart_upload(Bucket="landing", Key="kept/edges/aborted.bin", UploadId=up2)
        self.assertEqual(code(s3.list_parts, Bucket="landing", Key="kept/edges/aborted.bin", UploadId=up2), "NoSuchUpload")
        self.assertFalse((self.d.landing / "kept/edges/aborted.bin").exists())

        # Digests: a wrong Content-MD5 or a signed SHA-256 that is not the body's writes nothing.
        self.assertEqual(code(s3.put_object, Bucket="landing", Key="kept/edges/md5.bin", Body=b"body",
                              ContentMD5="AAAAAAAAAAAAAAAAAAAAAA=="), "BadDigest")
        # Signed over the SHA-256 of other bytes of the same length, then sent with "body".
        req = botocore.awsrequest.AWSRequest(method="PUT", url=f"{self.endpoint}/landing/kept/edges/sha.bin", data=b"bodz")
        botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(KEY_ID, SECRET), "s3", "us-east-1").add_auth(req)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("PUT", "/landing/kept/edges/sha.bin", body=b"body", headers=dict(req.headers))
        r = conn.getresponse()
        self.assertEqual(r.status, 400)
        self.assertIn(b"<Code>XAmzContentSHA256Mismatch</Code>", r.read())
        self.assertFalse((self.d.landing / "kept/edges/md5.bin").exists())
        self.assertFalse((self.d.landing / "kept/edges/sha.bin").exists())

        # Reads: missing keys and buckets, conditions, the archive's eTag after a rename.
        self.assertEqual(code(s3.get_object, Bucket="archive", Key="nope/x"), "NoSuchKey")
        self.assertEqual(code(s3.list_objects_v2, Bucket="nosuchbucket"), "NoSuchBucket")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:  # names the buckets there are
            s3.list_objects_v2(Bucket="retail-landing")
        self.assertIn("'landing', 'archive', 'quarantine'", cm.exception.response["Error"]["Message"])
        s3.put_object(Bucket="landing", Key="kept/edges/cond.txt", Body=b"cond")
        self.wait_processed("kept/edges/cond.txt", b"kept")
        etag = s3.head_object(Bucket="landing", Key="kept/edges/cond.txt")["ETag"]
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.get_object(Bucket="landing", Key="kept/edges/cond.txt", IfNoneMatch=etag)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 304)
        self.assertEqual(code(s3.get_object, Bucket="landing", Key="kept/edges/cond.txt", IfMatch='"x"'),
                         "PreconditionFailed")
        self.assertEqual(code(s3.copy_object, Bucket="landing", Key="kept/edges/cond.txt",
                              CopySource={"Bucket": "landing", "Key": "kept/edges/cond.txt"}), "InvalidRequest")
        # A key whose folder is an object, or an object whose name is a folder: not both, as files.
        self.assertEqual(code(s3.put_object, Bucket="landing", Key="kept/edges/cond.txt/inner", Body=b"x"),
                         "InvalidArgument")
        self.assertEqual(code(s3.put_object, Bucket="landing", Key="kept/edges", Body=b"x"), "InvalidArgument")
        self.assertEqual((self.d.landing / "kept/edges/cond.txt").read_bytes(), b"cond")
        # Archive and quarantine are read-only, whatever the operation.
        self.assertEqual(code(s3.create_multipart_upload, Bucket="archive", Key="x"), "AccessDenied")
        self.assertEqual(code(s3.copy_object, Bucket="quarantine", Key="x",
                              CopySource={"Bucket": "landing", "Key": "kept/edges/cond.txt"}), "AccessDenied")
        self.assertEqual(code(s3.delete_objects, Bucket="archive", Delete={"Objects": [{"Key": "x"}]}), "AccessDenied")
        self.assertEqual(code(s3.create_bucket, Bucket="other"), "AccessDenied")
        self.assertEqual(code(s3.get_bucket_acl, Bucket="landing"), "NotImplemented")

    def test_client_killed_mid_upload_leaves_nothing_in_landing(self):
        staging = self.d.dir / "state" / "s3-uploads"
        before = self.landing_files()
        # A multipart upload (the CLI) killed after its first parts arrived.
        proc = subprocess.Popen([AWS, "--endpoint-url", self.endpoint, "s3", "cp", "--no-progress", "big.bin",
                                 "s3://landing/killed/big.bin"], env=self.env, cwd=self.work,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: any(p.is_file() for p in staging.rglob("*")) or proc.poll() is not None, timeout=60,
                   message="a part to arrive")
        proc.kill()
        proc.wait()
        # A single PUT cut off mid-body, signed with UNSIGNED-PAYLOAD.
        s3 = self.boto()
        req = botocore.awsrequest.AWSRequest(method="PUT", url=f"{self.endpoint}/landing/killed/single.bin",
                                             headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD",
                                                      "Content-Length": str(10 << 20)})
        botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(KEY_ID, SECRET), "s3", "us-east-1").add_auth(req)
        sock = socket.create_connection(("127.0.0.1", self.port))
        head = f"PUT /landing/killed/single.bin HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in req.headers.items())
        sock.sendall(head.encode() + b"\r\n" + os.urandom(3 << 20))
        sock.close()
        # Nothing of either appears in landing, neither the object nor a temporary file.
        conn_ok = s3.list_buckets()  # the server is still answering
        self.assertTrue(conn_ok["Buckets"])
        self.assertEqual(self.landing_files(), before)
        self.assertEqual(self.objects("killed/big.bin"), [])
        self.assertEqual(self.objects("killed/single.bin"), [])
        uploads = s3.list_multipart_uploads(Bucket="landing").get("Uploads", [])
        for u in uploads:
            s3.abort_multipart_upload(Bucket="landing", Key=u["Key"], UploadId=u["UploadId"])
        wait_until(lambda: not any(p.is_file() for p in staging.rglob("*")), timeout=30, message="parts removed")

    def test_streaming_signed_chunks_are_verified_one_by_one(self):
        """STREAMING-AWS4-HMAC-SHA256-PAYLOAD (aws-chunked, each chunk signed), as SDKs send large bodies."""
        data = os.urandom(200_000)

        def send(tamper):
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
            key = f"chunked/{'bad' if tamper else 'good'}.bin"
            chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)] + [b""]
            body_len = sum(len(f"{len(c):x};chunk-signature=") + 64 + 2 + len(c) + 2 for c in chunks)
            headers = {"host": f"127.0.0.1:{self.port}", "x-amz-date": amz_date,
                       "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "content-encoding": "aws-chunked",
                       "x-amz-decoded-content-length": str(len(data)), "content-length": str(body_len)}
            signed = sorted(headers)
            canonical = "\n".join(["PUT", "/landing/" + key, "", *[f"{h}:{headers[h]}" for h in signed], "",
                                   ";".join(signed), "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"])
            k = ("AWS4" + SECRET).encode()
            for part in (amz_date[:8], "us-east-1", "s3", "aws4_request"):
                k = hmac.new(k, part.encode(), hashlib.sha256).digest()
            sts = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
            prev = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
            headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{scope}, SignedHeaders={';'.join(signed)}, "
                                        f"Signature={prev}")
            body = b""
            empty = hashlib.sha256(b"").hexdigest()
            for i, c in enumerate(chunks):
                csts = f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{prev}\n{empty}\n{hashlib.sha256(c).hexdigest()}"
                prev = hmac.new(k, csts.encode(), hashlib.sha256).hexdigest()
                if tamper and i == 1:
                    c = bytes([c[0] ^ 1]) + c[1:]  # changed in transit after signing
                body += f"{len(c):x};chunk-signature={prev}\r\n".encode() + c + b"\r\n"
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            conn.request("PUT", "/landing/" + key, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.read(), r.getheader("ETag")

        status, body, etag = send(tamper=False)
        self.assertEqual(status, 200, body)
        self.assertEqual(etag, f'"{md5(data)}"')
        self.assert_processed_once("chunked/good.bin", md5(data), len(data))
        self.assertEqual((self.d.archive / "chunked/good.bin").read_bytes(), data)
        status, body, _ = send(tamper=True)
        self.assertEqual(status, 403)
        self.assertIn(b"<Code>SignatureDoesNotMatch</Code>", body)
        self.assertIn(b"chunk 2", body)
        self.assertEqual(self.objects("chunked/bad.bin"), [])
        self.assertFalse((self.d.landing / "chunked/bad.bin").exists())

    # --- what a new user found (each test named after the fault it pins) ---------------------
    def final_rows(self, key):
        return [r for r in self.objects(key) if r[1] not in (b"pending", b"succeeded", b"failed")]

    def wait_settled(self, key, count):
        """`count` objects of `key` recorded, every one in a final state and none left in landing."""
        wait_until(lambda: len(self.objects(key)) >= count and len(self.final_rows(key)) == len(self.objects(key))
                   and not (self.d.landing / key).exists(), timeout=120, message=f"{key}: {count} objects settled")

    def test_reupload_to_a_processed_key_reads_the_new_version_not_the_old(self):
        """A corrected file uploaded to an already-archived key: s3://archive/<key> is the new one (the
        mover keeps the old one and stores the new as <key>~<object id>, which listings do not show)."""
        (self.work / "reup").mkdir(exist_ok=True)
        day = self.work / "reup" / "day.csv"
        day.write_bytes(b"id,amount\n1,10\n")
        self.aws("s3", "cp", str(day), "s3://landing/reup/day.csv")
        self.wait_settled("reup/day.csv", 1)
        self.aws("s3", "cp", "s3://archive/reup/day.csv", "reup-first.csv")
        self.assertEqual((self.work / "reup-first.csv").read_bytes(), b"id,amount\n1,10\n")
        day.write_bytes(b"id,amount\n1,10\n2,20 corrected\n")
        self.aws("s3", "cp", str(day), "s3://landing/reup/day.csv")
        self.wait_settled("reup/day.csv", 2)
        second = max(r[0] for r in self.objects("reup/day.csv"))
        self.assertTrue((self.d.archive / f"reup/day.csv~{second}").is_file())  # the mover's never-overwrite rule
        self.aws("s3", "cp", "s3://archive/reup/day.csv", "reup-second.csv")
        self.assertEqual((self.work / "reup-second.csv").read_bytes(), day.read_bytes())
        head = json.loads(self.aws("s3api", "head-object", "--bucket", "archive", "--key", "reup/day.csv").stdout)
        self.assertEqual(head["ETag"], f'"{md5(day.read_bytes())}"')
        listed = json.loads(self.aws("s3api", "list-objects-v2", "--bucket", "archive", "--prefix", "reup/").stdout)
        self.assertEqual([(o["Key"], o["Size"], o["ETag"]) for o in listed["Contents"]],
                         [("reup/day.csv", len(day.read_bytes()), f'"{md5(day.read_bytes())}"')])
        # rclone check: the folder the user uploaded and the archive agree.
        self.rclone("check", str(self.work / "reup"), "hh:archive/reup")
        # Older versions stay readable: by version id (the object id; "null" for the first, stored
        # under the key itself), as S3 reads an older version.
        self.assertEqual(head["VersionId"], str(second))
        self.aws("s3api", "get-object", "--bucket", "archive", "--key", "reup/day.csv", "--version-id", "null",
                 "reup-v1.csv")
        self.assertEqual((self.work / "reup-v1.csv").read_bytes(), b"id,amount\n1,10\n")
        self.aws("s3api", "get-object", "--bucket", "archive", "--key", "reup/day.csv", "--version-id", str(second),
                 "reup-v2.csv")
        self.assertEqual((self.work / "reup-v2.csv").read_bytes(), day.read_bytes())
        r = self.aws("s3api", "get-object", "--bucket", "archive", "--key", "reup/day.csv", "--version-id", "999999",
                     "reup-none.csv", check=False)
        self.assertIn(b"NoSuchVersion", r.stderr)

    def test_a_revert_to_an_earlier_upload_reads_as_the_latest_in_archive_and_landing(self):
        """Finding F2: A, B, then A again to one key: the mover dropped the third as identical to the
        stored A, so the archive kept answering B (replaced content), and landing's read-after-write
        HEAD of the key was 404 a second after a 200 PUT."""
        s3 = self.boto()
        a, b = b"day,1\nA\n", b"day,1\nB corrected\n"
        for n, body in enumerate([a, b, a], start=1):
            s3.put_object(Bucket="landing", Key="revert/day.csv", Body=body)
            self.wait_settled("revert/day.csv", n)
            head = s3.head_object(Bucket="landing", Key="revert/day.csv")  # read-after-write
            self.assertEqual(head["ETag"], f'"{md5(body)}"', f"upload {n}")
            self.assertEqual(s3.get_object(Bucket="archive", Key="revert/day.csv")["Body"].read(), body, f"upload {n}")
        listed = s3.list_objects_v2(Bucket="archive", Prefix="revert/")["Contents"]
        self.assertEqual([(o["Key"], o["ETag"]) for o in listed], [("revert/day.csv", f'"{md5(a)}"')])
        # A fourth identical upload (a duplicate of the last) changes nothing.
        s3.put_object(Bucket="landing", Key="revert/day.csv", Body=a)
        self.wait_settled("revert/day.csv", 4)
        self.assertEqual(s3.head_object(Bucket="landing", Key="revert/day.csv")["ETag"], f'"{md5(a)}"')
        self.assertEqual(s3.get_object(Bucket="archive", Key="revert/day.csv")["Body"].read(), a)

    def test_reupload_to_a_quarantined_key_reads_the_new_version_and_its_error(self):
        s3 = self.boto()
        s3.put_object(Bucket="landing", Key="fail/q.csv", Body=b"bad 1\n")
        self.wait_settled("fail/q.csv", 1)
        s3.put_object(Bucket="landing", Key="fail/q.csv", Body=b"bad 2\n")
        self.wait_settled("fail/q.csv", 2)
        self.assertEqual([r[1] for r in self.objects("fail/q.csv")], [b"quarantined", b"quarantined"])
        self.assertEqual(s3.get_object(Bucket="quarantine", Key="fail/q.csv")["Body"].read(), b"bad 2\n")
        second = max(r[0] for r in self.objects("fail/q.csv"))
        error = json.loads(s3.get_object(Bucket="quarantine", Key="fail/q.csv.error.json")["Body"].read())
        self.assertEqual(error["object_id"], second)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="quarantine", Prefix="fail/q.csv")["Contents"]]
        self.assertEqual(keys, ["fail/q.csv", "fail/q.csv.error.json"])
        self.assertEqual(s3.get_object(Bucket="quarantine", Key=f"fail/q.csv~{second}")["Body"].read(), b"bad 2\n")

    def test_head_of_the_landing_key_after_a_second_upload_is_not_404(self):
        """Read-after-write when hivehook archived the second upload as <key>~<id> (follow_moved)."""
        s3 = self.boto()
        s3.put_object(Bucket="landing", Key="raw/again.csv", Body=b"v1\n")
        self.wait_settled("raw/again.csv", 1)
        etag = s3.put_object(Bucket="landing", Key="raw/again.csv", Body=b"v2\n")["ETag"]
        self.assertEqual(s3.head_object(Bucket="landing", Key="raw/again.csv")["ETag"], etag)
        self.wait_settled("raw/again.csv", 2)
        self.assertEqual(s3.head_object(Bucket="landing", Key="raw/again.csv")["ETag"], etag)
        self.assertEqual(s3.get_object(Bucket="landing", Key="raw/again.csv")["Body"].read(), b"v2\n")
        # rclone verifies each upload with a HEAD: the same after a re-upload.
        (self.work / "raw-again").mkdir(exist_ok=True)
        (self.work / "raw-again" / "again.csv").write_bytes(b"v3 from rclone\n")
        self.rclone("copy", str(self.work / "raw-again"), "hh:landing/raw/")
        self.wait_settled("raw/again.csv", 3)
        self.rclone("check", str(self.work / "raw-again"), "hh:archive/raw/", "--include", "again.csv")

    def test_head_after_eight_concurrent_puts_to_one_key_is_not_404(self):
        import concurrent.futures
        bodies = [f"writer {i}\n".encode() * (i + 1) for i in range(8)]

        def put(body):
            return self.boto().put_object(Bucket="landing", Key="raw/race.csv", Body=body)["ETag"]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            etags = list(pool.map(put, bodies))
        s3 = self.boto()
        head = s3.head_object(Bucket="landing", Key="raw/race.csv")
        self.assertIn(head["ETag"], etags)
        wait_until(lambda: not (self.d.landing / "raw/race.csv").exists()
                   and all(r[1] not in (b"pending", b"succeeded") for r in self.objects("raw/race.csv")),
                   timeout=120, message="the race's objects settled")
        self.assertIn(s3.head_object(Bucket="landing", Key="raw/race.csv")["ETag"], etags)
        # The archive's latest version is the one the landing key reads as.
        self.assertEqual(s3.head_object(Bucket="archive", Key="raw/race.csv")["ETag"],
                         s3.head_object(Bucket="landing", Key="raw/race.csv")["ETag"])

    def with_headers(self, client, operation, headers):
        def add(request, **_):
            for k, v in headers.items():
                request.headers[k] = v
        client.meta.events.register(f"before-sign.s3.{operation}", add)
        return client

    def test_conditional_writes_are_412_not_ignored(self):
        s3 = self.boto()
        s3.put_object(Bucket="landing", Key="kept/cond/w.csv", Body=b"one\n")
        self.wait_processed("kept/cond/w.csv", b"kept")

        def code(fn, **kw):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                fn(**kw)
            return cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], cm.exception.response["Error"]["Code"]
        none_match = self.with_headers(self.boto(), "PutObject", {"If-None-Match": "*"})
        self.assertEqual(code(none_match.put_object, Bucket="landing", Key="kept/cond/w.csv", Body=b"two\n"),
                         (412, "PreconditionFailed"))
        if_match = self.with_headers(self.boto(), "PutObject", {"If-Match": '"0000"'})
        self.assertEqual(code(if_match.put_object, Bucket="landing", Key="kept/cond/w.csv", Body=b"two\n"),
                         (412, "PreconditionFailed"))
        self.assertEqual(code(if_match.put_object, Bucket="landing", Key="kept/cond/none.csv", Body=b"two\n"),
                         (404, "NoSuchKey"))
        self.assertEqual(code(s3.copy_object, Bucket="landing", Key="kept/cond/copy.csv", CopySourceIfMatch='"0000"',
                              CopySource={"Bucket": "landing", "Key": "kept/cond/w.csv"}), (412, "PreconditionFailed"))
        self.assertEqual(code(s3.copy_object, Bucket="landing", Key="kept/cond/copy.csv",
                              CopySourceIfNoneMatch=md5(b"one\n"),
                              CopySource={"Bucket": "landing", "Key": "kept/cond/w.csv"}), (412, "PreconditionFailed"))
        self.assertEqual((self.d.landing / "kept/cond/w.csv").read_bytes(), b"one\n")
        self.assertFalse((self.d.landing / "kept/cond/copy.csv").exists())
        self.assertFalse((self.d.landing / "kept/cond/none.csv").exists())
        # The conditions that hold write.
        right = self.with_headers(self.boto(), "PutObject", {"If-Match": f'"{md5(b"one" + bytes([10]))}"'})
        right.put_object(Bucket="landing", Key="kept/cond/w.csv", Body=b"two\n")
        self.assertEqual((self.d.landing / "kept/cond/w.csv").read_bytes(), b"two\n")
        none_match.put_object(Bucket="landing", Key="kept/cond/new.csv", Body=b"new\n")
        s3.copy_object(Bucket="landing", Key="kept/cond/copy.csv", CopySourceIfMatch=md5(b"two\n"),
                       CopySource={"Bucket": "landing", "Key": "kept/cond/w.csv"})
        self.assertEqual((self.d.landing / "kept/cond/copy.csv").read_bytes(), b"two\n")
        # Two If-None-Match: * writes of one new key at once: exactly one wins.
        import concurrent.futures

        def racer(i):
            try:
                self.with_headers(self.boto(), "PutObject", {"If-None-Match": "*"}).put_object(
                    Bucket="landing", Key="kept/cond/once.csv", Body=f"{i}\n".encode())
                return 200
            except botocore.exceptions.ClientError as e:
                return e.response["ResponseMetadata"]["HTTPStatusCode"]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = sorted(pool.map(racer, range(8)))
        self.assertEqual(statuses, [200] + [412] * 7)
        # An If-None-Match S3 does not support on a write is refused, not ignored.
        other = self.with_headers(self.boto(), "PutObject", {"If-None-Match": '"abc"'})
        self.assertEqual(code(other.put_object, Bucket="landing", Key="kept/cond/n.csv", Body=b"x"),
                         (501, "NotImplemented"))

    def test_sse_c_object_lock_and_other_false_assurances_are_refused(self):
        s3 = self.boto()

        def code(**kw):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                s3.put_object(Bucket="landing", Key="refused/x.csv", Body=b"secret\n", **kw)
            return cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], cm.exception.response["Error"]["Code"]
        self.assertEqual(code(SSECustomerAlgorithm="AES256", SSECustomerKey="k" * 32), (400, "InvalidRequest"))
        self.assertEqual(code(ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate="2099-01-01T00:00:00Z"),
                         (400, "InvalidRequest"))
        self.assertEqual(code(ObjectLockLegalHoldStatus="ON"), (400, "InvalidRequest"))
        self.assertEqual(code(ServerSideEncryption="AES256"), (501, "NotImplemented"))
        self.assertEqual(code(ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/x"), (501, "NotImplemented"))
        self.assertEqual(code(ACL="public-read"), (400, "AccessControlListNotSupported"))
        self.assertEqual(code(Tagging="team=ecommerce"), (501, "NotImplemented"))
        self.assertEqual(code(StorageClass="GLACIER"), (501, "NotImplemented"))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.create_multipart_upload(Bucket="landing", Key="refused/mp.bin", SSECustomerAlgorithm="AES256",
                                       SSECustomerKey="k" * 32)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidRequest")
        r = self.aws("s3", "cp", "--sse-c", "AES256", "--sse-c-key", "k" * 32, "src/one.csv",
                     "s3://landing/refused/cli.csv", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"InvalidRequest", r.stderr)
        self.assertEqual(self.objects("refused/x.csv"), [])
        self.assertFalse((self.d.landing / "refused").exists())
        # What S3 users send by default, and means what hivehook does anyway, is accepted.
        s3.put_object(Bucket="landing", Key="kept/accepted.csv", Body=b"ok\n", StorageClass="STANDARD", ACL="private")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.get_object(Bucket="landing", Key="kept/accepted.csv", SSECustomerAlgorithm="AES256",
                          SSECustomerKey="k" * 32)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidRequest")

    def test_key_under_an_archived_file_is_refused_before_it_is_stored(self):
        """nest/a archived, then nest/a/b: the mover could never archive it (archive/nest/a is a file)."""
        s3 = self.boto()
        s3.put_object(Bucket="landing", Key="nest/a", Body=b"a\n")
        self.wait_settled("nest/a", 1)
        for key in ["nest/a/b", "nest/a/b/c.csv"]:
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                s3.put_object(Bucket="landing", Key=key, Body=b"b\n")
            self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")
            self.assertIn("archive bucket", cm.exception.response["Error"]["Message"])
            self.assertFalse((self.d.landing / key).exists())
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.copy_object(Bucket="landing", Key="nest/a/copy", CopySource={"Bucket": "archive", "Key": "nest/a"})
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")
        self.assertEqual(self.objects("nest/a/b"), [])

    def test_empty_folders_left_after_archiving_do_not_block_a_key(self):
        s3 = self.boto()
        s3.put_object(Bucket="landing", Key="emptied/p/x.csv", Body=b"x\n")
        self.wait_settled("emptied/p/x.csv", 1)
        # The folders the upload made are pruned once its object left (issue 12 retest R12); empty
        # folders a person made are left, and must not block the key either.
        self.assertFalse((self.d.landing / "emptied/p").exists())
        (self.d.landing / "emptied/p/deeper").mkdir(parents=True)
        s3.put_object(Bucket="landing", Key="emptied/p", Body=b"p\n")  # no object uses the name
        self.wait_settled("emptied/p", 1)
        self.assertEqual(s3.get_object(Bucket="archive", Key="emptied/p")["Body"].read(), b"p\n")
        # A folder that holds an object still refuses the key.
        s3.put_object(Bucket="landing", Key="kept/full/x.csv", Body=b"x\n")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.put_object(Bucket="landing", Key="kept/full", Body=b"p\n")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")

    def test_a_deleted_key_reads_as_gone_at_once(self):
        s3 = self.boto()
        for i, delete in enumerate([lambda k: s3.delete_object(Bucket="landing", Key=k),
                                    lambda k: s3.delete_objects(Bucket="landing", Delete={"Objects": [{"Key": k}]})]):
            key = f"gone/{i}.csv"
            s3.put_object(Bucket="landing", Key=key, Body=b"gone\n")
            self.wait_settled(key, 1)
            s3.head_object(Bucket="landing", Key=key)  # read-after-write: still readable where it was written
            delete(key)
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                s3.head_object(Bucket="landing", Key=key)
            self.assertEqual(cm.exception.response["Error"]["Code"], "404")
        r = self.s3cmd("del", "s3://landing/gone/0.csv")
        self.assertEqual(r.returncode, 0)

    def test_r10_a_clients_delete_is_audited_and_the_object_no_longer_counted_in_landing(self):
        """R10: DeleteObject/DeleteObjects left no trace, and `status` kept counting the deleted
        objects as left in landing."""
        s3 = self.boto()
        keys = ["kept/r10/a.csv", "kept/r10/b.csv", "kept/r10/c.csv"]
        for k in keys:
            s3.put_object(Bucket="landing", Key=k, Body=k.encode())
        for k in keys:
            self.wait_processed(k, b"kept")
        left = lambda: json.loads(self.d.cli("status", "--json", check=True).stdout)["now"]["left_in_landing"]  # noqa: E731
        before = left()
        one = s3.delete_object(Bucket="landing", Key=keys[0])["ResponseMetadata"]["RequestId"]
        many = s3.delete_objects(Bucket="landing", Delete={"Objects": [{"Key": k} for k in keys[1:]]})
        for k in keys:
            wait_until(lambda: self.objects(k)[-1][1] == b"deleted", timeout=30, message=f"{k} deleted")
        self.assertEqual(left(), before - 3)
        deleted = {e["key"]: e for e in self.d.audit_lines() if e["event"] == "object.deleted" and e["key"] in keys}
        self.assertEqual(set(deleted), set(keys))
        self.assertEqual(deleted[keys[0]]["detail"]["operation"], "DeleteObject")
        self.assertEqual(deleted[keys[0]]["detail"]["request_id"], one)
        for k in keys[1:]:
            self.assertEqual(deleted[k]["detail"]["operation"], "DeleteObjects")
            self.assertEqual(deleted[k]["detail"]["request_id"], many["ResponseMetadata"]["RequestId"])
        for e in deleted.values():
            self.assertEqual((e["detail"]["by"], e["detail"]["was"]), ("s3", "kept"))
            self.assertTrue(e["detail"]["client"].startswith("127.0.0.1:"), e)
        audit = self.d.cli("audit", "--key", keys[0], check=True).stdout.decode()
        self.assertIn("object.deleted", audit)
        # A key with no object (deleted twice): S3 answers 204 again, and nothing more is recorded.
        s3.delete_object(Bucket="landing", Key=keys[0])
        self.assertEqual(len([e for e in self.d.audit_lines() if e["event"] == "object.deleted" and e["key"] == keys[0]]), 1)

    def test_r12_folders_an_upload_made_go_once_its_object_left_landing_and_others_stay(self):
        """R12: every upload left its folder chain in landing, watched for ever. Folders the API made
        for a key go once empty and an object on their path left landing; a folder a person made, or
        one still holding an object, stays; a key of more than 32 folders is refused."""
        s3 = self.boto()
        s3.put_object(Bucket="landing", Key="r12/a/b/c/x.csv", Body=b"x")
        self.wait_processed("r12/a/b/c/x.csv")
        wait_until(lambda: not (self.d.landing / "r12").exists(), timeout=30, message="r12/a/b/c pruned")
        (self.d.landing / "r12user" / "mine").mkdir(parents=True)
        s3.put_object(Bucket="landing", Key="r12user/mine/deep/x.csv", Body=b"x")
        self.wait_processed("r12user/mine/deep/x.csv")
        wait_until(lambda: not (self.d.landing / "r12user/mine/deep").exists(), timeout=30, message="deep pruned")
        self.assertTrue((self.d.landing / "r12user/mine").is_dir(), "a folder a person made stays")
        for k in ("kept/r12/shared/k.csv", "kept/r12/shared/other.csv"):
            s3.put_object(Bucket="landing", Key=k, Body=b"k")
            self.wait_processed(k, b"kept")
        s3.delete_object(Bucket="landing", Key="kept/r12/shared/other.csv")
        self.assertTrue((self.d.landing / "kept/r12/shared/k.csv").is_file(), "a folder still holding an object stays")
        s3.delete_object(Bucket="landing", Key="kept/r12/shared/k.csv")
        self.assertFalse((self.d.landing / "kept/r12").exists())
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.put_object(Bucket="landing", Key="deep/" + "d/" * 32 + "x", Body=b"x")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")
        self.assertIn("at most 32", cm.exception.response["Error"]["Message"])
        self.assertFalse((self.d.landing / "deep").exists())
        s3.put_object(Bucket="landing", Key="kept/" + "d/" * 31 + "x", Body=b"x")  # 32 folders: accepted

    def test_r2_a_read_of_a_key_ending_in_a_slash_is_404_no_such_key_as_s3(self):
        """R2: HEAD/GET of "dir/" answered 400; S3 answers 404 NoSuchKey, and tools probe "p/" with HEAD
        to tell a folder from a missing path. Writes of such keys stay 400."""
        s3 = self.boto()
        s3.put_object(Bucket="landing", Key="kept/r2/l/a.csv", Body=b"a")
        for key in ("kept/r2/l/", "kept/r2/nonexist/", "kept/r2//a.csv"):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                s3.head_object(Bucket="landing", Key=key)
            self.assertEqual(cm.exception.response["Error"]["Code"], "404", key)
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                s3.get_object(Bucket="archive", Key=key)
            self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchKey", key)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.put_object(Bucket="landing", Key="kept/r2/m/", Body=b"")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")

    def test_r3_copy_object_and_upload_part_copy_copy_an_archived_older_version(self):
        """R3: CopyObject/UploadPartCopy from an archived older version was refused with "hivehook
        keeps no object versions", though GetObject serves that very version."""
        s3 = self.boto()
        key = "r3/rev/day.csv"
        s3.put_object(Bucket="landing", Key=key, Body=b"A\n")
        self.wait_settled(key, 1)
        s3.put_object(Bucket="landing", Key=key, Body=b"B\n")
        self.wait_settled(key, 2)
        latest = s3.head_object(Bucket="archive", Key=key)["VersionId"]
        self.assertNotEqual(latest, "null")
        for version, want in (("null", b"A\n"), (latest, b"B\n")):
            s3.copy_object(Bucket="landing", Key=f"kept/r3/from-{version}.csv",
                           CopySource={"Bucket": "archive", "Key": key, "VersionId": version})
            self.assertEqual(s3.get_object(Bucket="landing", Key=f"kept/r3/from-{version}.csv")["Body"].read(), want)
        up = s3.create_multipart_upload(Bucket="landing", Key="kept/r3/part.csv")["UploadId"]
        part = s3.upload_part_copy(Bucket="landing", Key="kept/r3/part.csv", UploadId=up, PartNumber=1,
                                   CopySource={"Bucket": "archive", "Key": key, "VersionId": "null"})
        s3.complete_multipart_upload(Bucket="landing", Key="kept/r3/part.csv", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
        self.assertEqual(s3.get_object(Bucket="landing", Key="kept/r3/part.csv")["Body"].read(), b"A\n")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.copy_object(Bucket="landing", Key="kept/r3/none.csv",
                           CopySource={"Bucket": "archive", "Key": key, "VersionId": "999999"})
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchVersion")

    def test_keys_hivehook_ignores_are_refused_naming_the_pattern(self):
        s3 = self.boto()
        for key, pattern in [(".x.csv", ".*"), ("ign/x.tmp", "*.tmp"), ("ign/x.csv~", "*~"), ("ign/_COPYING_", "_COPYING_"),
                             ("ign/y.part", "*.part")]:
            with self.subTest(key=key):
                with self.assertRaises(botocore.exceptions.ClientError) as cm:
                    s3.put_object(Bucket="landing", Key=key, Body=b"x")
                self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")
                self.assertIn(f"'{pattern}'", cm.exception.response["Error"]["Message"])
                self.assertFalse((self.d.landing / key).exists())
        r = self.rclone("copyto", "src/one.csv", "hh:landing/ign/z.tmp", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"*.tmp", r.stderr)
        # Names of older versions in archive are hivehook's too.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.put_object(Bucket="landing", Key="ign/x.csv~12", Body=b"x")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")

    def test_r7_an_error_document_never_replaces_a_quarantined_object_named_like_one(self):
        """Retest R7 (data loss): an object whose key ends in .error.json was quarantined, then the
        key without the suffix failed too and its error document replaced that object's bytes."""
        s3 = self.boto()
        s3.put_object(Bucket="landing", Key="fail/ej/c.csv.error.json", Body=b'{"user":"object"}')
        self.wait_processed("fail/ej/c.csv.error.json", b"quarantined")
        s3.put_object(Bucket="landing", Key="fail/ej/c.csv", Body=b"c")
        self.wait_processed("fail/ej/c.csv", b"quarantined")
        q = self.d.quarantine / "fail/ej"
        self.assertEqual((q / "c.csv.error.json").read_bytes(), b'{"user":"object"}')
        report = json.loads((q / "c.csv.error-2.json").read_text())
        self.assertEqual(report["key"], "fail/ej/c.csv")
        # A second failure of the same key replaces its own report, never the object.
        s3.put_object(Bucket="landing", Key="fail/ej/c.csv", Body=b"c2")
        wait_until(lambda: len(self.d.query("SELECT id FROM objects WHERE key='fail/ej/c.csv' AND state='quarantined'")) == 2,
                   timeout=60, message="the second c.csv quarantined")
        self.assertEqual((q / "c.csv.error.json").read_bytes(), b'{"user":"object"}')
        # The same for files dropped into landing (the archive layer's naming, not S3's).
        self.d.drop("fail/ejd/d.csv.error.json", b'{"dropped":"object"}')
        self.wait_processed("fail/ejd/d.csv.error.json", b"quarantined")
        self.d.drop("fail/ejd/d.csv", b"d")
        self.wait_processed("fail/ejd/d.csv", b"quarantined")
        q = self.d.quarantine / "fail/ejd"
        self.assertEqual((q / "d.csv.error.json").read_bytes(), b'{"dropped":"object"}')
        self.assertEqual(json.loads((q / "d.csv.error-2.json").read_text())["key"], "fail/ejd/d.csv")

    def test_a_complete_multipart_upload_repeated_after_it_succeeded_answers_the_same(self):
        """Retest R11: a retried CompleteMultipartUpload (its first answer lost) got 404 NoSuchUpload
        for an object that exists and ran its job; concurrent ones too. S3's is idempotent."""
        s3 = self.boto()
        key = "twice/t.bin"
        u = s3.create_multipart_upload(Bucket="landing", Key=key)["UploadId"]
        parts = {"Parts": [{"PartNumber": 1, "ETag": s3.upload_part(Bucket="landing", Key=key, UploadId=u, PartNumber=1,
                                                                     Body=b"abc")["ETag"]}]}
        first = s3.complete_multipart_upload(Bucket="landing", Key=key, UploadId=u, MultipartUpload=parts)["ETag"]
        again = s3.complete_multipart_upload(Bucket="landing", Key=key, UploadId=u, MultipartUpload=parts)["ETag"]
        self.assertEqual(again, first)
        self.assert_processed_once(key, first.strip('"'), 3)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:  # another list is not a retry
            s3.complete_multipart_upload(Bucket="landing", Key=key, UploadId=u, MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": md5(b"xyz")}]})
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchUpload")
        # Three at once (SDKs retry the 503 a Complete gets while another one runs): all succeed.
        import concurrent.futures
        key = "twice/c.bin"
        u = s3.create_multipart_upload(Bucket="landing", Key=key)["UploadId"]
        body = os.urandom(6 * 1024 * 1024)
        parts = {"Parts": [{"PartNumber": n, "ETag": s3.upload_part(Bucket="landing", Key=key, UploadId=u, PartNumber=n,
                                                                     Body=body)["ETag"]} for n in (1, 2)]}
        retrying = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                                region_name="us-east-1", config=Config(signature_version="s3v4",
                                                                       retries={"max_attempts": 10, "mode": "standard"}))
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            etags = list(pool.map(lambda _: retrying.complete_multipart_upload(
                Bucket="landing", Key=key, UploadId=u, MultipartUpload=parts)["ETag"], range(3)))
        self.assertEqual(etags, [f'"{multipart_etag(body + body, len(body))}"'] * 3)
        self.assert_processed_once(key, multipart_etag(body + body, len(body)), 2 * len(body))

    def test_put_object_echoes_the_checksum_it_verified(self):
        s3 = self.boto()
        out = s3.put_object(Bucket="landing", Key="kept/sum.csv", Body=b"sum\n", ChecksumAlgorithm="SHA256")
        import base64
        self.assertEqual(out["ChecksumSHA256"], base64.b64encode(hashlib.sha256(b"sum\n").digest()).decode())


class S3Reload(unittest.TestCase):
    def test_an_ignore_change_applied_on_sighup_applies_to_uploads_too(self):
        """Finding F11: after `ignore` was reloaded ("applied now: ignore") the S3 API kept the old
        globs: a name now ignored got 200 and was never processed, a name no longer ignored got 400."""
        port = free_port()
        d = Deployment(RULES, config_extra=f"""\
            s3:
              listen: 127.0.0.1:{port}
              access_key_id: {KEY_ID}
              secret_access_key: {SECRET}
            """, prefix="hivehook-s3-reload-")
        self.addCleanup(d.cleanup)
        d.start()
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=KEY_ID,
                          aws_secret_access_key=SECRET, region_name="us-east-1",
                          config=Config(signature_version="s3v4", retries={"max_attempts": 1}))
        with self.assertRaises(botocore.exceptions.ClientError):
            s3.put_object(Bucket="landing", Key="kept/ign/x.tmp", Body=b"t")  # `*.tmp`: a default glob
        d.config.write_text(d.config.read_text() + 'ignore: ["*.log"]\n')
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: b"applied now: ignore" in d.log.read_bytes(), timeout=30, message="the reload")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.put_object(Bucket="landing", Key="kept/ign/x.log", Body=b"l")
        self.assertIn("'*.log'", cm.exception.response["Error"]["Message"])
        s3.put_object(Bucket="landing", Key="kept/ign/x.tmp", Body=b"t")  # no longer ignored: processed
        wait_until(lambda: d.query("SELECT state FROM objects WHERE key='kept/ign/x.tmp'") == [(b"kept",)],
                   timeout=60, message="x.tmp processed")


class S3DiskSpace(unittest.TestCase):
    """Finding F8: a multipart upload needed twice its size free and found out only at
    CompleteMultipartUpload (507 after every byte was sent). Landing and the part staging
    (state_dir) share one small tmpfs here, as they share a disk in a real deployment."""
    MIB = 1024 * 1024

    def setUp(self):
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.d = Deployment("""\
            rules:
              - name: everything
                match: {glob: "**"}
                job: {command: [/bin/sh, -c, 'cat > /dev/null']}
                on_success: {action: archive}
            """, config_extra=f"""\
            state_dir: disk/state
            s3: {{listen: "127.0.0.1:{port}", access_key_id: {KEY_ID}, secret_access_key: {SECRET}}}
            """, prefix="hivehook-s3-disk-")
        self.addCleanup(self.d.cleanup)
        self.disk = self.d.mount_tmpfs(self.d.dir / "disk", "44m")  # 46,137,344 bytes
        self.d.config.write_text(self.d.config.read_text().replace("landing: landing\n", "landing: disk/landing\n"))
        self.d.landing = self.disk / "landing"
        self.d.landing.mkdir()
        self.d.start()
        self.work = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-s3-disk-src-"))
        self.addCleanup(shutil.rmtree, self.work, True)
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                               region_name="us-east-1", config=Config(signature_version="s3v4", retries={"max_attempts": 1}))

    def disk_files(self):
        return [p for p in self.disk.rglob("*") if p.is_file()]

    def test_a_multipart_upload_of_two_thirds_of_the_free_space_completes(self):
        """30 MB in four parts (the AWS CLI's 8 MiB) on a 44 MiB filesystem: the parts and, while
        completing, one part's room beside them fit; twice the size (60 MB) would not."""
        data = os.urandom(30_000_000)
        (self.work / "f30.bin").write_bytes(data)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_CONFIG_FILE": str(self.work / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(self.work / "none"),
                    "HOME": str(self.work)})
        r = subprocess.run([AWS, "--endpoint-url", self.endpoint, "s3", "cp", "--no-progress", str(self.work / "f30.bin"),
                            "s3://landing/a/f30.bin"], capture_output=True, env=env, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace") + self.d.log.read_text(errors="replace")[-2000:])
        etag = multipart_etag(data, 8 * self.MIB)
        wait_until(lambda: self.d.query("SELECT state, etag FROM objects WHERE key='a/f30.bin'") == [(b"archived", etag.encode())],
                   timeout=120, message="a/f30.bin archived with its multipart eTag")
        self.assertEqual(md5((self.d.archive / "a/f30.bin").read_bytes()), md5(data))
        self.assertEqual(self.disk_files(), [])  # no part, no temporary file left on the disk

    def test_an_upload_that_could_not_be_completed_is_refused_at_the_part_not_at_completion(self):
        """Five 8 MiB parts on 44 MiB: the fifth would fit, but completing would then need another
        8 MiB beside the parts: it is refused (507, before its body is stored) at UploadPart. Four
        parts still complete, and a refused upload can be aborted leaving nothing."""
        up = self.s3.create_multipart_upload(Bucket="landing", Key="b/f.bin")["UploadId"]
        part = os.urandom(8 * self.MIB)
        etags = []
        for n in range(1, 5):
            etags.append(self.s3.upload_part(Bucket="landing", Key="b/f.bin", UploadId=up, PartNumber=n, Body=part)["ETag"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.upload_part(Bucket="landing", Key="b/f.bin", UploadId=up, PartNumber=5, Body=part)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 507)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InsufficientStorage")
        self.assertIn("largest part", cm.exception.response["Error"]["Message"])
        parts = self.s3.list_parts(Bucket="landing", Key="b/f.bin", UploadId=up)["Parts"]
        self.assertEqual([p["PartNumber"] for p in parts], [1, 2, 3, 4])
        self.s3.complete_multipart_upload(Bucket="landing", Key="b/f.bin", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]})
        wait_until(lambda: self.d.query("SELECT state FROM objects WHERE key='b/f.bin'") == [(b"archived",)],
                   timeout=120, message="b/f.bin archived")
        self.assertEqual(md5((self.d.archive / "b/f.bin").read_bytes()), md5(part * 4))
        # Refused outright: a part the disk cannot hold at all, before its body is stored.
        up = self.s3.create_multipart_upload(Bucket="landing", Key="c/g.bin")["UploadId"]
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.upload_part(Bucket="landing", Key="c/g.bin", UploadId=up, PartNumber=1, Body=os.urandom(50 * self.MIB))
        self.assertEqual(cm.exception.response["Error"]["Code"], "InsufficientStorage")
        self.s3.abort_multipart_upload(Bucket="landing", Key="c/g.bin", UploadId=up)
        self.assertEqual(self.disk_files(), [])

    def test_a_completion_that_fails_after_moving_parts_can_be_retried(self):
        """A completion refused (here an If-None-Match: * on a key that exists: 412) keeps the
        upload: its conditions are checked before any part moves (issue 12 retest R11: the 200 of
        a completion goes out before the assembly, so what can fail early fails early), and
        completing it again gives the whole object, byte for byte. A failure during the assembly
        itself is test_r11_an_assembly_that_fails_after_the_200_is_an_error_inside_it_..."""
        self.s3.put_object(Bucket="landing", Key="d/taken.bin", Body=b"first")
        up = self.s3.create_multipart_upload(Bucket="landing", Key="d/taken.bin")["UploadId"]
        parts = [os.urandom(5 * self.MIB), os.urandom(5 * self.MIB), b"tail"]
        listed = [{"PartNumber": n, "ETag": self.s3.upload_part(Bucket="landing", Key="d/taken.bin", UploadId=up,
                                                                 PartNumber=n, Body=b)["ETag"]}
                  for n, b in enumerate(parts, 1)]
        wait_until(lambda: self.d.query("SELECT state FROM objects WHERE key='d/taken.bin'") == [(b"archived",)],
                   timeout=60, message="the first d/taken.bin archived")
        cond = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                            region_name="us-east-1", config=Config(signature_version="s3v4", retries={"max_attempts": 1}))

        def add(request, **_):
            request.headers["If-None-Match"] = "*"
        cond.meta.events.register("before-sign.s3.CompleteMultipartUpload", add)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:  # read-after-write: the key holds "first"
            cond.complete_multipart_upload(Bucket="landing", Key="d/taken.bin", UploadId=up, MultipartUpload={"Parts": listed})
        self.assertEqual(cm.exception.response["Error"]["Code"], "PreconditionFailed")
        staged = self.d.dir / "disk" / "state" / "s3-uploads" / up
        self.assertEqual(len(list(staged.iterdir())), 3)  # refused before assembling: nothing moved
        self.assertEqual([p["PartNumber"] for p in self.s3.list_parts(Bucket="landing", Key="d/taken.bin", UploadId=up)["Parts"]],
                         [1, 2, 3])
        # A re-uploaded part replaces the moved one, and the retry assembles what is listed now.
        parts[2] = b"new tail"
        listed[2]["ETag"] = self.s3.upload_part(Bucket="landing", Key="d/taken.bin", UploadId=up, PartNumber=3,
                                                Body=parts[2])["ETag"]
        self.s3.complete_multipart_upload(Bucket="landing", Key="d/taken.bin", UploadId=up, MultipartUpload={"Parts": listed})
        wait_until(lambda: len(self.d.query("SELECT id FROM objects WHERE key='d/taken.bin' AND state='archived'")) == 2,
                   timeout=60, message="the multipart d/taken.bin archived")
        got = self.s3.get_object(Bucket="archive", Key="d/taken.bin")["Body"].read()
        self.assertEqual(md5(got), md5(b"".join(parts)))
        self.assertEqual(self.disk_files(), [])


class S3BatchRecords(unittest.TestCase):
    """A batch run's Records[] said ObjectCreated:Put (with ids of their own, and awsRegion "local")
    for every member, even one created by CompleteMultipartUpload or CopyObject: each record names
    how its member was created and the request ids its client got, as a single object's event does,
    also when archive is on another filesystem (the mover's copy carries the record along)."""

    def check(self, archive_elsewhere):
        port = free_port()
        d = Deployment("", config_extra=f"""\
            s3: {{listen: "127.0.0.1:{port}", access_key_id: {KEY_ID}, secret_access_key: {SECRET}}}
            """, prefix="hivehook-s3-batch-")
        self.addCleanup(d.cleanup)
        runs = d.dir / "runs"
        runs.mkdir()
        d.write_rules(f"""\
            rules:
              - name: load
                match: {{glob: "sales/day=*/*.csv"}}
                job: {{command: [/bin/sh, -c, 'cat >/dev/null']}}
              - name: daily
                match: {{glob: "sales/day=*/*"}}
                batch: {{group: "{{table}}/{{partition.day}}", when: {{marker: _SUCCESS}}}}
                job: {{command: [/bin/sh, -c, 'cat > "$0/$HIVEHOOK_RUN_ID.json"', "{runs}"]}}
            """)
        if archive_elsewhere:
            d.mount_tmpfs(d.archive, "16m")
        d.start()
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=KEY_ID,
                          aws_secret_access_key=SECRET, region_name="us-east-1",
                          config=Config(signature_version="s3v4", retries={"max_attempts": 1}))
        ids = {}
        r = s3.put_object(Bucket="landing", Key="sales/day=01/put.csv", Body=b"p\n")
        ids["sales/day%3D01/put.csv"] = ("ObjectCreated:Put", r["ResponseMetadata"]["RequestId"])
        up = s3.create_multipart_upload(Bucket="landing", Key="sales/day=01/mp.csv")["UploadId"]
        e = s3.upload_part(Bucket="landing", Key="sales/day=01/mp.csv", UploadId=up, PartNumber=1, Body=b"m\n")["ETag"]
        r = s3.complete_multipart_upload(Bucket="landing", Key="sales/day=01/mp.csv", UploadId=up,
                                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
        ids["sales/day%3D01/mp.csv"] = ("ObjectCreated:CompleteMultipartUpload", r["ResponseMetadata"]["RequestId"])
        r = s3.copy_object(Bucket="landing", Key="sales/day=01/copy.csv",
                           CopySource={"Bucket": "landing", "Key": "sales/day=01/put.csv"})
        ids["sales/day%3D01/copy.csv"] = ("ObjectCreated:Copy", r["ResponseMetadata"]["RequestId"])
        for key in ("sales/day=01/put.csv", "sales/day=01/mp.csv", "sales/day=01/copy.csv"):
            wait_until(lambda: d.query("SELECT state FROM objects WHERE key=?", key) == [(b"archived",)], timeout=60,
                       message=f"{key} archived")
        s3.put_object(Bucket="landing", Key="sales/day=01/_SUCCESS", Body=b"")
        files = wait_until(lambda: list(runs.glob("*.json")), timeout=60, message="the batch run")
        event = json.loads(files[0].read_text())
        got = {rec["s3"]["object"]["key"]: (rec["eventName"], rec["responseElements"]["x-amz-request-id"])
               for rec in event["Records"]}
        self.assertEqual(got, ids)
        self.assertEqual({rec["awsRegion"] for rec in event["Records"]}, {"us-east-1"})
        # The archive bucket serves the multipart eTag the client got, wherever archive is.
        self.assertEqual(s3.head_object(Bucket="archive", Key="sales/day=01/mp.csv")["ETag"],
                         f'"{multipart_etag(b"m" + bytes([10]), 5 * 1024 * 1024)}"')

    def test_batch_records_name_how_each_member_was_created(self):
        self.check(archive_elsewhere=False)

    def test_batch_records_name_how_each_member_was_created_when_archive_is_another_filesystem(self):
        self.check(archive_elsewhere=True)


class S3SecretMasking(unittest.TestCase):
    """R13 (issue 12 re-test): the S3 secret key was masked in a job's stdout (only when the daemon's
    own environment happened to hold it) but stored and served in clear in the job's result
    ($HIVEHOOK_RESULT, a Lambda's return value): `runs`, /api/v1/runs, the state DB. The config's
    s3.secret_access_key is now one of the secrets the one Redactor masks at every outlet."""

    SECRET_IN_CONFIG = "r13-secret-only-in-the-config"

    def test_r13_the_s3_secret_a_job_or_lambda_prints_or_returns_is_masked_everywhere_it_is_stored_or_served(self):
        s3_port, http_port, hook_port = free_port(), free_port(), free_port()
        secret = self.SECRET_IN_CONFIG
        d = Deployment("", config_extra=f"""\
            metrics: 127.0.0.1:{http_port}
            notify:
              hook: {{webhook: "http://127.0.0.1:{hook_port}/nobody-listens", max_attempts: 1}}
            s3: {{listen: "127.0.0.1:{s3_port}", access_key_id: {KEY_ID}, secret_access_key: {secret}}}
            """, prefix="hivehook-s3-r13-")
        self.addCleanup(d.cleanup)
        fn = d.dir / "fn"
        fn.mkdir()
        (fn / "leak.py").write_text(
            "import os\n"
            "def handler(event, context):\n"
            "    print('secret is', os.environ['AWS_SECRET_ACCESS_KEY'])\n"
            "    return {'s': os.environ['AWS_SECRET_ACCESS_KEY'], 't': 'a ' + os.environ['AWS_SECRET_ACCESS_KEY'] + ' b'}\n")
        # The job is told the secret through its argv, as a job reading the config would know it.
        (d.dir / "leak.sh").write_text(
            'echo "stdout says $1"; echo "stderr says $1" >&2\n'
            'printf \'{"s": "%s", "t": "a %s b"}\' "$1" "$1" > "$HIVEHOOK_RESULT"\n'
            'exit "$2"\n')
        d.write_rules(f"""\
            rules:
              - name: leakcmd
                match: {{prefix: leakcmd/}}
                job: {{command: [/bin/sh, "{d.dir / 'leak.sh'}", {secret}, "0"]}}
                on_success: {{action: archive}}
              - name: leakfail
                match: {{prefix: leakfail/}}
                job: {{command: [/bin/sh, "{d.dir / 'leak.sh'}", {secret}, "1"]}}
                retries: 0
                on_failure: {{action: quarantine, notify: [hook]}}
              - name: leaklambda
                match: {{prefix: leaklambda/}}
                job:
                  lambda: {{handler: leak.handler, code: "{fn}", runtime: python3}}
                on_success: {{action: archive}}
            """)
        env = {k: v for k, v in os.environ.items() if secret not in v}
        self.assertEqual(env, dict(os.environ), "the daemon's environment does not hold the secret")
        d.start()
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}", aws_access_key_id=KEY_ID,
                          aws_secret_access_key=secret, region_name="us-east-1",
                          config=Config(signature_version="s3v4", retries={"max_attempts": 1}))
        for key in ("leakcmd/x.csv", "leakfail/x.csv", "leaklambda/x.csv"):
            s3.put_object(Bucket="landing", Key=key, Body=b"x\n")
        wait_until(lambda: d.count_objects("archived") == 2 and d.count_objects("quarantined") == 1, timeout=120,
                   message="both archived, one quarantined")
        wait_until(lambda: d.events("notify.dead"), timeout=60, message="the notification given up")
        runs = json.loads(d.cli("runs", "--output", "--json", check=True).stdout)
        self.assertEqual(len(runs), 3, runs)
        self.assertEqual(sorted(r["result"]["t"] for r in runs), ["a *** b"] * 3, "masked, and the result is JSON")
        outlets = {
            "runs --output": d.cli("runs", "--output", check=True).stdout.decode(),
            "runs --output --json": json.dumps(runs),
            "/api/v1/runs": urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/v1/runs?output=1").read().decode(),
            "/api/v1/quarantine": urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/v1/quarantine").read().decode(),
            "audit.jsonl": (d.dir / "state" / "audit.jsonl").read_text(),
            "error document": (d.quarantine / "leakfail" / "x.csv.error.json").read_text(),
            "daemon log": d.log.read_text(errors="replace"),
        }
        for table in ("runs", "events", "objects", "outbox", "delivery_attempts"):
            outlets[f"state DB {table}"] = repr(d.query(f"SELECT * FROM {table}"))
        self.assertIn("stdout says ***", outlets["runs --output"])
        self.assertIn("secret is ***", outlets["/api/v1/runs"])
        for name, text in outlets.items():
            self.assertNotIn(secret, text, f"the S3 secret in clear in {name}")
        self.assertEqual(d.stop(), 0)


    def test_r1_an_access_key_id_in_the_daemons_environment_is_not_masked_in_log_lines_and_audit_paths(self):
        """R1: with AWS_ACCESS_KEY_ID in the daemon's environment (the usual shell of an S3 user),
        every occurrence of the key id in log lines and audit paths became "***"; the secret key
        in that environment is still masked."""
        s3_port = free_port()
        key_id, secret = "AKIDR1EXAMPLE", "r1-secret-in-the-environment"
        d = Deployment("""\
            rules:
              - name: show
                match: {prefix: up/}
                job:
                  command: [/bin/sh, -c, 'echo "id $AWS_ACCESS_KEY_ID secret $AWS_SECRET_ACCESS_KEY"']
                  inherit_env: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]
                on_success: {action: archive}
            """, config_extra=f"""\
            s3: {{listen: "127.0.0.1:{s3_port}", access_key_id: {key_id}, secret_access_key: {secret}}}
            """, prefix="hivehook-s3-r1-")
        self.addCleanup(d.cleanup)
        d.start(env={"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret, "HH_R1_TOKEN": "landing"})
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}", aws_access_key_id=key_id,
                          aws_secret_access_key=secret, region_name="us-east-1",
                          config=Config(signature_version="s3v4", retries={"max_attempts": 1}))
        key = f"up/{key_id}/landing-report.csv"
        s3.put_object(Bucket="landing", Key=key, Body=b"x\n")
        wait_until(lambda: d.count_objects("archived") == 1, timeout=60, message="archived")
        (archived,) = [e for e in d.audit_lines() if e["event"] == "object.archived"]
        self.assertEqual(archived["detail"]["path"], str(d.archive / key))
        log = d.log.read_text(errors="replace")
        self.assertIn(key, log)
        self.assertIn(str(d.landing), log, "a plain word (HH_R1_TOKEN=landing) is no secret")
        self.assertNotIn("***", log)
        self.assertNotIn("***", (d.dir / "state" / "audit.jsonl").read_text())
        (run,) = json.loads(d.cli("runs", "--output", "--json", check=True).stdout)
        self.assertIn(f"id {key_id} secret ***", run["stdout_tail"], "the secret is still masked, the id is not")
        self.assertEqual(d.stop(), 0)


class S3SlowCompletion(unittest.TestCase):
    """R11 (issue 12 re-test): a CompleteMultipartUpload that outlasted the client's read timeout
    failed the upload (ReadTimeout, then SlowDown or NoSuchUpload on the retries) though the object
    was stored and processed. As S3 does ("CompleteMultipartUpload": the 200 and its headers at once,
    white space while assembling, then the result, or an <Error> inside the 200), no read timeout
    fires however long the assembly takes. The daemon's test seam pauses 2 s before each part moves
    (HIVEHOOK_TEST_S3_ASSEMBLY_DELAY_MS), standing in for a multi-GB object on a slow disk: three
    parts take 6 s, twice the clients' 3-s read timeout."""

    MIB = 1024 * 1024
    READ_TIMEOUT = 3
    # One attempt each (botocore's max_attempts counts retries; total_max_attempts counts all): a
    # retry would hide a first attempt that timed out.

    def setUp(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.d = Deployment(RULES, config_extra=f"""\
            s3: {{listen: "127.0.0.1:{self.port}", access_key_id: {KEY_ID}, secret_access_key: {SECRET}}}
            """, prefix="hivehook-s3-slow-complete-")
        self.addCleanup(self.d.cleanup)
        self.d.start(env={"HIVEHOOK_TEST_S3_ASSEMBLY_DELAY_MS": "2000"})
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                               region_name="us-east-1",
                               config=Config(signature_version="s3v4", read_timeout=self.READ_TIMEOUT,
                                             retries={"total_max_attempts": 1, "mode": "standard"}))
        self.data = os.urandom(10 * self.MIB + 17)

    def upload_parts(self, key):
        up = self.s3.create_multipart_upload(Bucket="landing", Key=key)["UploadId"]
        chunks = [self.data[i:i + 5 * self.MIB] for i in range(0, len(self.data), 5 * self.MIB)]
        self.assertEqual(len(chunks), 3)
        return up, [{"PartNumber": n, "ETag": self.s3.upload_part(Bucket="landing", Key=key, UploadId=up, PartNumber=n,
                                                                  Body=b)["ETag"]} for n, b in enumerate(chunks, 1)]

    def test_r11_a_completion_slower_than_the_clients_read_timeout_answers_200_and_keeps_the_connection_alive(self):
        seen = {}

        def keep(http_response, **_):
            seen["status"], seen["body"] = http_response.status_code, http_response.content
        self.s3.meta.events.register("after-call.s3.CompleteMultipartUpload", keep)
        up, parts = self.upload_parts("k/slow.bin")
        started = time.monotonic()
        etag = self.s3.complete_multipart_upload(Bucket="landing", Key="k/slow.bin", UploadId=up,
                                                 MultipartUpload={"Parts": parts})["ETag"]
        self.assertGreater(time.monotonic() - started, self.READ_TIMEOUT, "the assembly outlasted the read timeout")
        self.assertEqual(etag, f'"{multipart_etag(self.data, 5 * self.MIB)}"')
        self.assertEqual(seen["status"], 200)
        self.assertRegex(seen["body"], rb'^<\?xml version="1.0" encoding="UTF-8"\?>\n +<CompleteMultipartUploadResult ',
                         "white space between the declaration and the result")
        wait_until(lambda: self.d.count_objects("archived") == 1, timeout=60, message="archived")
        self.assertEqual(md5((self.d.archive / "k/slow.bin").read_bytes()), md5(self.data))

    def test_r11_aws_cli_cp_with_a_read_timeout_shorter_than_the_assembly_succeeds(self):
        work = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-s3-slow-cli-"))
        self.addCleanup(shutil.rmtree, work, True)
        (work / "big.bin").write_bytes(self.data)
        (work / "aws-config").write_text("[default]\ns3 =\n    multipart_threshold = 5MB\n    multipart_chunksize = 5MB\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_CONFIG_FILE": str(work / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(work / "none"),
                    "AWS_MAX_ATTEMPTS": "1", "HOME": str(work), "AWS_PAGER": ""})
        r = subprocess.run([AWS, "--endpoint-url", self.endpoint, "--cli-read-timeout", str(self.READ_TIMEOUT), "s3", "cp",
                            "--no-progress", str(work / "big.bin"), "s3://landing/k/cli.bin"],
                           capture_output=True, env=env, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        wait_until(lambda: self.d.count_objects("archived") == 1, timeout=60, message="archived")
        self.assertEqual(md5((self.d.archive / "k/cli.bin").read_bytes()), md5(self.data))

    def test_r11_an_assembly_that_fails_after_the_200_is_an_error_inside_it_and_the_upload_can_be_completed_again(self):
        up, parts = self.upload_parts("keep-out/taken.bin")
        cond = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                            region_name="us-east-1", config=Config(signature_version="s3v4", read_timeout=self.READ_TIMEOUT,
                                                                   retries={"total_max_attempts": 1, "mode": "standard"}))

        def if_none_match(request, **_):
            request.headers["If-None-Match"] = "*"
        cond.meta.events.register("before-sign.s3.CompleteMultipartUpload", if_none_match)
        outcome = {}

        def keep(response=None, **_):
            if response:
                outcome["status"], outcome["body"] = response[0].status_code, response[0].content
        cond.meta.events.register("needs-retry.s3.CompleteMultipartUpload", keep)

        def complete():
            try:
                cond.complete_multipart_upload(Bucket="landing", Key="keep-out/taken.bin", UploadId=up,
                                               MultipartUpload={"Parts": parts})
                outcome["ok"] = True
            except botocore.exceptions.ClientError as e:
                outcome["error"] = e.response
        t = threading.Thread(target=complete)
        t.start()
        staged = self.d.dir / "state" / "s3-uploads" / up
        # The key did not exist when the Complete began (its 200 went out); it does before the publish.
        wait_until(lambda: len(list(staged.iterdir())) < 3, timeout=30, message="the first part moved")
        self.s3.put_object(Bucket="landing", Key="keep-out/taken.bin", Body=b"first")
        t.join(60)
        self.assertIn("error", outcome, "the client is told the upload failed")
        # The 200 went out before the assembly; the error is the document inside it (botocore's
        # check_for_200_error reads it as a 500 to retry).
        self.assertRegex(outcome["body"], rb"^<\?xml [^>]*\?>\n +<Error><Code>PreconditionFailed</Code>", outcome)
        etag = self.s3.complete_multipart_upload(Bucket="landing", Key="keep-out/taken.bin", UploadId=up,
                                                 MultipartUpload={"Parts": parts})["ETag"]
        self.assertEqual(etag, f'"{multipart_etag(self.data, 5 * self.MIB)}"')
        self.assertEqual(md5(self.s3.get_object(Bucket="landing", Key="keep-out/taken.bin")["Body"].read()), md5(self.data))


class S3Restart(unittest.TestCase):

    def test_parts_of_a_previous_run_are_removed_at_start(self):
        port = free_port()
        d = Deployment("rules: []\n", config_extra=f"""\
            s3: {{listen: "127.0.0.1:{port}", access_key_id: {KEY_ID}, secret_access_key: {SECRET}}}
            """, prefix="hivehook-s3-restart-")
        try:
            d.start()
            s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=KEY_ID,
                              aws_secret_access_key=SECRET, region_name="us-east-1")
            up = s3.create_multipart_upload(Bucket="landing", Key="t/x.bin")
            s3.upload_part(Bucket="landing", Key="t/x.bin", UploadId=up["UploadId"], PartNumber=1, Body=b"p" * 1000)
            staging = d.dir / "state" / "s3-uploads"
            self.assertTrue(any(p.is_file() for p in staging.rglob("*")))
            d.kill9()
            d.start()
            self.assertFalse(any(staging.rglob("*")), list(staging.rglob("*")))
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                s3.upload_part(Bucket="landing", Key="t/x.bin", UploadId=up["UploadId"], PartNumber=2, Body=b"p")
            self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchUpload")
            self.assertEqual(d.files(d.landing), [])
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
