import itertools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from local_stack import LocalStack, Settings  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    with LocalStack(Settings()) as running:
        yield running


@pytest.fixture(autouse=True)
def functions_stay_within_their_roles(request):
    """Fails a test during which the emulator refused a function a call its role does not allow:
    an action missing from a policy in template.yaml. Tests that refuse on purpose clear the list."""
    if "stack" not in request.fixturenames:
        yield
        return
    stack = request.getfixturevalue("stack")
    stack.control("denials", method="DELETE")
    yield
    denials = stack.control("denials", method="GET")["denials"]
    assert denials == [], f"functions were refused calls their roles do not allow: {denials}"


@pytest.fixture(scope="session")
def directory_id(stack):
    return stack.seed_directory("aws.example.com")


_secrets = itertools.count(1)


@pytest.fixture
def secret(stack):
    """A fresh secret holding the password canary, which must never show up anywhere."""
    from test_workflow import CANARY

    name = f"trustflow/secret-{next(_secrets)}"
    stack.put_secret(name, CANARY)
    return name
