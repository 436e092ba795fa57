"""README's S3 example, run as written: a new user pasted it and it failed (the `s3:` snippet alone is
refused for want of `landing`, and with the Quick tour's rules nothing archives `transactions/`).
The `sh` block of "The S3 API (local S3)" runs in an empty folder with `hivehook` (the built
binary) and `aws` (Debian's awscli) on the PATH; only the port is changed to a free one. `aws` is
retried for up to a minute while it fails, as a person does who runs the next command once the
daemon is up and the object archived (the daemon starts in the background, archiving takes
milliseconds); a command that keeps failing fails the test."""
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import free_port

ROOT = pathlib.Path(os.environ.get("HIVEHOOK_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BIN = os.environ.get("HIVEHOOK_BIN", str(ROOT / "build" / "hivehook"))

AWS_RETRYING = """#!/bin/sh
# Debian's aws, again until it succeeds (at most 60 s): the pace of a person at the keyboard.
end=$(( $(date +%s) + 60 ))
while :; do
  out=$(/usr/bin/aws "$@" 2>&1) && { printf '%s\\n' "$out"; exit 0; }
  [ "$(date +%s)" -ge "$end" ] && { printf '%s\\n' "$out" >&2; exit 1; }
  sleep 0.5
done
"""


def readme_s3_block():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## The S3 API (local S3)"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return blocks[0]


class ReadmeS3Example(unittest.TestCase):
    def test_readme_s3_example_works_verbatim_from_an_empty_folder(self):
        block = readme_s3_block()
        self.assertIn("s3://archive/transactions/", block)
        port = free_port()
        script = block.replace("127.0.0.1:9000", f"127.0.0.1:{port}")
        work = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-readme-s3-"))
        self.addCleanup(shutil.rmtree, work, True)
        bindir = work / ".bin"
        folder = work / "tour"
        bindir.mkdir()
        folder.mkdir()
        (bindir / "hivehook").symlink_to(BIN)
        (bindir / "aws").write_text(AWS_RETRYING)
        (bindir / "aws").chmod(0o755)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"PATH": f"{bindir}:{os.environ['PATH']}", "HOME": str(work), "AWS_PAGER": "",
                    "AWS_CONFIG_FILE": str(work / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(work / "none")})
        r = subprocess.run(["bash", "-e", "-c", script + "\nkill $!; wait $! || true\n"], cwd=folder, env=env,
                           capture_output=True, timeout=300)
        out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
        log = f"exit {r.returncode}\n--- stdout:\n{out}\n--- stderr:\n{err}"
        self.assertEqual(r.returncode, 0, log)
        self.assertIn("transactions/year=2023/month=03/day=15/day.csv", out, log)  # the archive's listing
        self.assertTrue(out.endswith("id,amount\n1,9.99\n"), log)                  # read back from the archive
        self.assertEqual((folder / "archive/transactions/year=2023/month=03/day=15/day.csv").read_bytes(),
                         b"id,amount\n1,9.99\n")


if __name__ == "__main__":
    unittest.main()
