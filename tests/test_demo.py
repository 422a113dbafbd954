"""The demo the README names, as a new user runs it: a request through the whole workflow, then the
trust's life: a change in place, the health check seeing it break, its removal."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_shows_a_trust_verified_changed_watched_and_removed():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--then", "update,health,remove"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert "--- EventBridge result event: Trust Verified ---" in out
    assert "Changed in place: selective authentication: Disabled -> Enabled" in out
    assert "time is scaled down" in out and "re-verification every 300 s" in out, "the demo says what the deployed run takes"
    assert "--- EventBridge result event: Trust Health Changed ---" in out and "stopped working" in out
    assert "--- EventBridge result event: Trust Removed ---" in out
    assert "Demo-Trust-Passw0rd!" not in out, "the password never shows"


@pytest.mark.parametrize("scenario", ["aws-pair", "aws-pair-other-account"])
def test_the_demo_pairs_two_aws_directories_and_removes_both_sides(scenario):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--scenario", scenario, "--then", "remove"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    if scenario == "aws-pair-other-account":
        role = "arn:aws:iam::222222222222:role/trustflow-remote-directories"
        assert "the other account (222222222222) holds" in out and f'"remoteRoleArn": "{role}"' in out, out[:3000]
    assert "--- EventBridge result event: Trust Verified ---" in out
    assert '"pairedSide"' in out and "Other side: trust" in out
    assert "--- EventBridge result event: Trust Removed ---" in out and "removed, with its forwarder" in out
    assert "Demo-Trust-Passw0rd!" not in out


def test_an_unknown_step_after_the_request_is_refused_before_anything_starts():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--then", "explode"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--then: unknown explode" in result.stderr
