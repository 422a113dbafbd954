"""The emulator's IAM decision for a function's call: actions as IAM evaluates them, resources not."""

import iam_enforcement as iam


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_an_action_no_statement_names_is_not_allowed():
    documents = [policy({"Effect": "Allow", "Action": ["ds:DescribeTrusts"], "Resource": "*"})]
    assert iam.decide(documents, "ds:CreateTrust") == "not allowed"


def test_an_allow_on_scoped_resources_counts_as_allowing_the_action():
    documents = [policy({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                         "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:trustflow/*"})]
    assert iam.decide(documents, "secretsmanager:GetSecretValue") == "allowed"


def test_wildcards_match_and_action_names_ignore_case():
    documents = [policy({"Effect": "Allow", "Action": ["ds:Describe*", "SNS:publish"], "Resource": "*"})]
    assert iam.decide(documents, "ds:DescribeTrusts") == "allowed"
    assert iam.decide(documents, "sns:Publish") == "allowed"
    assert iam.decide(documents, "ds:DeleteTrust") == "not allowed"


def test_an_explicit_deny_wins_over_any_allow():
    documents = [policy({"Effect": "Allow", "Action": "ds:*", "Resource": "*"}),
                 policy({"Effect": "Deny", "Action": "ds:DeleteTrust", "Resource": "*"})]
    assert iam.decide(documents, "ds:DeleteTrust") == "denied"
    assert iam.decide(documents, "ds:CreateTrust") == "allowed"


def test_not_action_allows_everything_but_what_it_names():
    documents = [policy({"Effect": "Allow", "NotAction": "ds:DeleteTrust", "Resource": "*"})]
    assert iam.decide(documents, "ds:CreateTrust") == "allowed"
    assert iam.decide(documents, "ds:DeleteTrust") == "not allowed"


def test_a_request_on_plain_access_keys_is_not_checked():
    assert iam.check(None, "ds", "DeleteTrust") is None


def test_a_session_nobody_was_issued_is_refused():
    assert iam.check(("", ""), "ds", "DescribeTrusts")["decision"] == "unknown session"
