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
