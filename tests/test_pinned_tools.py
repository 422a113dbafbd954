"""The Python test tools are pinned: every requirement has an exact version in tests/constraints.txt
(checkov's in tests/constraints-checkov.txt), scripts/bootstrap.sh installs with those files, and the
.venv the tests run in is the pinned one."""

import re
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)$")


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path):
    found = {}
    for line in (ROOT / path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{path}: not an exact pin: {line!r}"
        found[canonical(match.group(1))] = match.group(2)
    return found


def requirements():
    """(name, exact version or None) of each line of tests/requirements.txt."""
    for line in (ROOT / "tests" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = re.sub(r"\[.*?\]", "", line).partition("==")
            yield canonical(name), version or None


def test_every_requirement_is_pinned_and_agrees_with_its_own_pin():
    pinned = pins("tests/constraints.txt")
    for name, version in requirements():
        assert name in pinned, f"{name} is in tests/requirements.txt but not pinned in tests/constraints.txt"
        assert version in (None, pinned[name]), f"{name}: requirements.txt says {version}, constraints.txt {pinned[name]}"


def test_checkov_is_pinned_in_its_own_constraints():
    assert "checkov" in pins("tests/constraints-checkov.txt")


def test_bootstrap_installs_with_the_constraints_and_reinstalls_when_they_change():
    script = (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert "-r tests/requirements.txt -c tests/constraints.txt" in script
    assert "checkov -c tests/constraints-checkov.txt" in script
    assert "cat tests/requirements.txt tests/constraints.txt | sha256sum" in script
    assert "sha256sum tests/constraints-checkov.txt" in script


def test_the_venv_the_tests_run_in_holds_the_pinned_versions():
    installed = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wrong = {name: (version, installed.get(name)) for name, version in pins("tests/constraints.txt").items()
             if installed.get(name) != version}
    assert wrong == {}, f"pinned vs installed (run scripts/bootstrap.sh): {wrong}"
