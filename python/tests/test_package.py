"""Tests of the `cleanrooms_emulator` package the wheel installs: finding the binary, flags,
starting and stopping an emulator, its admin calls, and the pytest plugin's fixtures, options
and reset marker (run in a child pytest with the plugin loaded by name, as the wheel's
`pytest11` entry point loads it). The `[spark]` extra's pins must equal
python/requirements-spark.txt.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cleanrooms_emulator  # noqa: E402
from cleanrooms_emulator import emulator as module  # noqa: E402

pytest_plugins = ["pytester"]


def built_binary() -> Path:
    binary = os.environ.get("CLEANROOMS_EMULATOR_BIN")
    if not binary or not Path(binary).is_file():
        pytest.skip("CLEANROOMS_EMULATOR_BIN does not name a built emulator")
    return Path(binary)


def test_keyword_flags_become_command_line_flags():
    assert module._flag_arguments({"max_spark_sessions": 2, "default_account": "123456789012"}) == [
        "--max-spark-sessions", "2", "--default-account", "123456789012"]
    assert module._flag_arguments({"ephemeral": True, "quiet": False, "region": None}) == ["--ephemeral"]


def test_the_binary_is_found_or_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    fake = tmp_path / "cleanrooms-emulator"
    fake.write_text("")
    assert cleanrooms_emulator.binary_path(fake) == fake
    monkeypatch.setenv("CLEANROOMS_EMULATOR_BIN", str(fake))
    assert cleanrooms_emulator.binary_path() == fake
    with pytest.raises(cleanrooms_emulator.EmulatorError, match="does not exist"):
        cleanrooms_emulator.binary_path(tmp_path / "missing")
    monkeypatch.delenv("CLEANROOMS_EMULATOR_BIN")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(module.sysconfig, "get_path", lambda _name: str(tmp_path / "no-scripts"))
    monkeypatch.setattr(module.sys, "executable", str(tmp_path / "no-bin" / "python"))
    with pytest.raises(cleanrooms_emulator.EmulatorError, match="install the cleanrooms-emulator wheel"):
        cleanrooms_emulator.binary_path()


def test_the_spark_extra_pins_what_the_runner_is_tested_with():
    extra = tomllib.loads((ROOT.parent / "pyproject.toml").read_text())["project"]["optional-dependencies"]["spark"]
    pinned = [line.strip() for line in (ROOT / "requirements-spark.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert sorted(extra) == sorted(pinned)


def test_start_serve_reset_advance_the_clock_and_stop(tmp_path):
    data = tmp_path / "data"
    with cleanrooms_emulator.start(data_dir=data, binary=built_binary(), default_account="123456789012") as emulator:
        assert emulator.running and emulator.port > 0
        assert emulator.health()["status"] == "ready"
        s3 = emulator.client("s3", account="222222222222")
        assert emulator.client("s3", account="222222222222") is s3, "clients are cached"
        s3.create_bucket(Bucket="kept")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["kept"]
        before = emulator.admin("GET", "/_emulator/clock")["now"]
        assert emulator.advance_clock(86400)["offsetSeconds"] == 86400
        assert emulator.admin("GET", "/_emulator/clock")["now"] >= before + 86400
        emulator.reset()
        assert s3.list_buckets()["Buckets"] == []
        with pytest.raises(cleanrooms_emulator.EmulatorError, match="404"):
            emulator.admin("GET", "/_emulator/nothing-here")
    assert not emulator.running and emulator.process.returncode == 0
    assert data.is_dir() and emulator.data_dir == data


def test_an_ephemeral_emulator_removes_its_data_dir(tmp_path):
    emulator = cleanrooms_emulator.start(binary=built_binary())
    data_dir = emulator.data_dir
    assert data_dir is not None and data_dir.is_dir()
    assert emulator.stop() == 0
    assert not data_dir.exists()


def test_a_binary_that_cannot_serve_is_reported_with_its_output(tmp_path):
    with pytest.raises(cleanrooms_emulator.EmulatorError, match="did not start"):
        cleanrooms_emulator.start(binary=built_binary(), port=70000)


def test_the_pytest_plugin(pytester, monkeypatch):
    binary = built_binary()
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    pytester.makepyfile(
        """
        import os
        import boto3
        import pytest

        def test_clients_and_environment(aws_client, cleanrooms_emulator):
            aws_client("s3", account="333333333333").create_bucket(Bucket="bucket-one")
            assert os.environ["AWS_ENDPOINT_URL"] == cleanrooms_emulator.url
            assert boto3.client("s3").list_buckets()["Buckets"] == []  # the default account's view
            assert [b["Name"] for b in aws_client("s3", "333333333333").list_buckets()["Buckets"]] == ["bucket-one"]

        def test_state_is_shared_without_the_marker(aws_client):
            assert [b["Name"] for b in aws_client("s3", "333333333333").list_buckets()["Buckets"]] == ["bucket-one"]

        @pytest.mark.cleanrooms_emulator_reset
        def test_the_marker_resets(aws_client):
            assert aws_client("s3", "333333333333").list_buckets()["Buckets"] == []
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "cleanrooms_emulator.pytest_plugin", "-p", "no:cacheprovider",
        f"--cleanrooms-emulator-binary={binary}", "--cleanrooms-emulator-keep-data", "-v",
    )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*cleanrooms-emulator data dir kept: *"])
    assert "AWS_ENDPOINT_URL" not in os.environ, "the session's environment is restored"
