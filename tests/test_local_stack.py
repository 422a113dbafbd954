"""The local stack's one environment for every function (tests/e2e/local_stack.py): no server needed."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from local_stack import Settings, function_environment  # noqa: E402
from rehearsal import Function, load_template, TEMPLATE  # noqa: E402

LOGGING = {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"}


def function(logical_id, environment, logging=LOGGING):
    return Function(logical_id=logical_id, binary=None, name=f"trustflow-{logical_id}-X", arn="", role_arn="",
                    environment=environment, runtime=None, handler=None, architectures=[], logging=logging, dead_letter_config={})


def test_the_union_of_the_functions_variables_and_what_lambda_sets_from_their_logging_config():
    env = function_environment([function("A", {"STATE_MACHINE_ARN": "arn:1", "X": "1"}),
                                function("B", {"STATE_MACHINE_ARN": "arn:1", "Y": "2"})])
    assert env == {"STATE_MACHINE_ARN": "arn:1", "X": "1", "Y": "2",
                   "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    # With the Text format, Lambda passes no application log level.
    assert function_environment([function("A", {}, {"LogFormat": "Text"})]) == {"AWS_LAMBDA_LOG_FORMAT": "Text"}


def test_one_variable_with_two_values_cannot_be_served_by_one_process():
    with pytest.raises(RuntimeError, match="STATE_MACHINE_ARN is 'arn:1' for A and 'arn:2' for B"):
        function_environment([function("A", {"STATE_MACHINE_ARN": "arn:1"}), function("B", {"STATE_MACHINE_ARN": "arn:2"})])
    with pytest.raises(RuntimeError, match="AWS_LAMBDA_LOG_LEVEL"):
        function_environment([function("A", {}), function("B", {}, {**LOGGING, "ApplicationLogLevel": "DEBUG"})])


def test_a_variable_the_harness_sets_is_refused():
    with pytest.raises(RuntimeError, match="A sets AWS_ENDPOINT_URL"):
        function_environment([function("A", {"AWS_ENDPOINT_URL": "http://elsewhere"})])


def test_the_settings_are_template_parameters():
    parameters = load_template(TEMPLATE)["Parameters"]
    assert set(Settings().parameters()) <= set(parameters)
