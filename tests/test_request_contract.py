"""One request contract: schemas/trust-request.schema.json, checked on the shared corpus in
schemas/examples/trust-request/ (valid/ and invalid/, one whole request body per file; the Rust
parser's test reads the same files). No other file may hold a second copy of the rules."""

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
from jsonschema import Draft202012Validator, validators

from test_template import template

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "schemas" / "trust-request.schema.json"
CORPUS = ROOT / "schemas" / "examples" / "trust-request"
VALID = sorted((CORPUS / "valid").glob("*.json"))
INVALID = sorted((CORPUS / "invalid").glob("*.json"))


SKIPPED_DIRS = {".git", ".venv", ".venv-checkov", "target", ".aws-sam", "node_modules", "__pycache__", ".pytest_cache"}


def repo_files(*suffixes):
    """The repository's files with these suffixes, without build output and virtual environments."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        yield from (Path(folder) / name for name in files if name.endswith(suffixes))


def schema():
    return json.loads(SCHEMA_PATH.read_text())


def load(path):
    return json.loads(path.read_text())


def ecma_262(pattern):
    """JSON Schema patterns are ECMA-262, where `$` is the end of the string; Python's `$` also
    matches before a final newline (so "REQ-1\\n" would pass). `$` outside a class becomes `\\Z`."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        out.append("\\Z" if c == "$" and not in_class else c)
        i += 1
    return "".join(out)


def _pattern(validator, pattern, instance, _schema):
    if validator.is_type(instance, "string") and not re.search(ecma_262(pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


EcmaValidator = validators.extend(Draft202012Validator, {"pattern": _pattern})


def with_formats():
    return EcmaValidator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def without_formats():
    """Draft 2020-12 treats `format` as an annotation: the rules must hold without it."""
    return EcmaValidator(schema())


def test_the_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(schema())


def test_the_corpus_has_good_and_bad_requests():
    assert len(VALID) >= 15 and len(INVALID) >= 30


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_a_valid_request_passes_the_schema(path):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in with_formats().iter_errors(load(path))]
    assert errors == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_an_invalid_request_fails_the_schema_even_where_format_is_only_an_annotation(path):
    assert list(without_formats().iter_errors(load(path))), f"{path.name} passes the schema"


# The field an invalid file's name blames, by the name's first words.
BLAMED_BY_NAME = [
    ("request-id", "requestId"), ("directory-id", "directoryId"), ("remote-domain", "remoteDomainName"),
    ("trust-type", "trustType"), ("trust-direction", "trustDirection"), ("forwarder", "conditionalForwarderIpAddrs"),
    ("ipv6-forwarder", "conditionalForwarderIpv6Addrs"), ("add-ip-routes", "addIpRoutes"),
    ("remote-cidrs", "remoteDomainCidrs"), ("preflight", "preflight"), ("dry-run", "dryRun"),
    ("selective-auth", "selectiveAuth"), ("trust-password", "trustPassword"), ("secret-", "trustPassword"),
    ("json-key", "trustPassword"), ("notify", "notify"), ("on-existing-trust", "onExistingTrust"), ("remote-side-wait-until", "remoteSideWaitUntil"), ("remote-directory-id", "remoteDirectoryId"), ("remote-role-arn", "remoteRoleArn"),
    ("requested-by", "requestedBy"), ("request-", "(request)"),
]


def blamed(error):
    """The top-level field a schema error is about; a missing required field is blamed on itself."""
    path = list(error.absolute_path)
    if path:
        return path[0]
    if error.validator == "required":
        return next(field for field in error.validator_value if field not in error.instance)
    return "(request)"


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_an_invalid_request_breaks_only_the_rule_its_file_name_says(path):
    expected = next(field for prefix, field in BLAMED_BY_NAME if path.stem.startswith(prefix))
    assert {blamed(e) for e in without_formats().iter_errors(load(path))} == {expected}


def test_the_valid_corpus_uses_every_field_and_every_spelling_the_schema_accepts():
    requests = [load(p) for p in VALID]
    properties = schema()["properties"]
    for field in properties:
        assert any(r.get(field) is not None for r in requests), f"no valid request gives {field}"
        assert any(field in r and r[field] is None for r in requests) or field in schema()["required"], f"no valid request gives {field} as null"
    assert any(r["trustPassword"].get("jsonKey") for r in requests)
    spellings = {
        "trustType": properties["trustType"]["enum"],
        "trustDirection": properties["trustDirection"]["enum"],
        "onExistingTrust": properties["onExistingTrust"]["enum"],
        "selectiveAuth": properties["selectiveAuth"]["oneOf"][0]["enum"] + [True, False],
    }
    for field, accepted in spellings.items():
        used = {json.dumps(r[field]) for r in requests if field in r and r[field] is not None}
        assert used == {json.dumps(s) for s in accepted if s is not None}, field


def parsers_size_limit():
    """MAX_REQUEST_BYTES, read from the parser's source wherever its crate now lives."""
    for path in repo_files(".rs"):
        found = re.search(r"const MAX_REQUEST_BYTES: usize = ([0-9 *]+);", path.read_text(errors="replace"))
        if found:
            size = 1
            for factor in found.group(1).split("*"):
                size *= int(factor)
            return size
    pytest.fail("MAX_REQUEST_BYTES not found in the Rust sources")


def test_no_request_the_schema_accepts_exceeds_the_parsers_size_limit():
    """JSON Schema cannot state a size in bytes: every string is bounded instead. The largest request
    (free text in 4-byte characters, as the parser measures it: compact JSON in UTF-8) still fits."""
    widest = "\U0001F511" * 256
    largest = {
        "requestId": "R" * 64, "directoryId": "d-1234567890", "remoteDomainName": ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61]) + ".",
        "trustType": "External", "trustDirection": "One-Way: Outgoing",
        "conditionalForwarderIpAddrs": ["200.255.255.255", "201.255.255.255", "202.255.255.255", "203.255.255.255"],
        "selectiveAuth": "Disabled",
        "trustPassword": {"secretId": f"arn:aws{'-' * 16}:secretsmanager:{'r' * 32}:123456789012:secret:{'s' * 512}", "jsonKey": widest},
        "notify": {"topicArn": f"arn:aws{'-' * 16}:sns:{'r' * 32}:123456789012:{'t' * 256}"},
        "onExistingTrust": "replace", "requestedBy": widest,
    }
    assert list(with_formats().iter_errors(largest)) == []
    size = len(json.dumps(largest, separators=(",", ":"), ensure_ascii=False).encode())
    assert size <= parsers_size_limit(), size


def test_the_readme_example_is_the_complete_request_of_the_corpus():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The request", 1)[1]
    example = json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))
    assert example == load(CORPUS / "valid" / "complete-request.json")


def test_the_direction_aliases_the_readme_names_are_the_schemas():
    bullet = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("- `trustDirection`"))
    named = set(re.findall(r"`([a-z-]+)`", bullet.split(";", 1)[1]))
    enum = schema()["properties"]["trustDirection"]["enum"]
    assert named == {s for s in enum if s == s.lower()}


def test_the_apis_request_model_points_at_the_schema_and_holds_no_copy_of_its_rules():
    body = template()["Resources"]["TrustApi"]["Properties"]["DefinitionBody"]
    post = body["paths"]["/trust-requests"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TrustRequest"}
    model = body["components"]["schemas"]["TrustRequest"]
    assert set(model) <= {"type", "description"}, f"a second copy of the contract: {sorted(model)}"
    assert "schemas/trust-request.schema.json" in model["description"]


def test_the_status_paths_request_id_rule_is_the_schemas():
    get = template()["Resources"]["TrustApi"]["Properties"]["DefinitionBody"]["paths"]["/trust-requests/{id}"]["get"]
    (parameter,) = [p for p in get["parameters"] if p["name"] == "id"]
    assert parameter["schema"]["pattern"] == schema()["properties"]["requestId"]["pattern"]


def _schema_like_copies(node, where):
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict) and "conditionalForwarderIpAddrs" in node["properties"]:
            yield where
        for key, value in node.items():
            yield from _schema_like_copies(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _schema_like_copies(value, f"{where}/{index}")


def test_no_other_json_or_yaml_file_defines_the_request_again():
    import yaml

    from test_template import CfnLoader

    copies = []
    for path in repo_files(".json", ".yaml", ".yml"):
        if path == SCHEMA_PATH or CORPUS in path.parents or "conditionalForwarderIpAddrs" not in path.read_text(errors="replace"):
            continue
        document = json.loads(path.read_text()) if path.suffix == ".json" else yaml.load(path.read_text(), Loader=CfnLoader)
        copies += list(_schema_like_copies(document, str(path.relative_to(ROOT))))
    assert copies == []
