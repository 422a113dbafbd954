"""Seeds the running emulator with the fixtures the Rust integration tests use, and prints them
as shell `export` lines. Usage: python seed_for_rust.py http://127.0.0.1:PORT"""

import json
import sys
import urllib.request

import boto3

endpoint = sys.argv[1]


def control(route, body):
    request = urllib.request.Request(f"{endpoint}/_trustflow/{route}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
fixtures = {
    "TF_DIRECTORY": control("directory", {"name": "aws.example.com", "shortName": "AWSEX"})["directoryId"],
    "TF_SIMPLE_AD": control("directory", {"name": "simple.example.com", "type": "SimpleAD"})["directoryId"],
    "TF_REPLICATED": control("directory", {"name": "replica.example.com", "primaryRegion": "eu-west-1"})["directoryId"],
    "TF_NOT_ACTIVE": control("directory", {"name": "new.example.com", "stage": "Creating"})["directoryId"],
}
secrets = boto3.client("secretsmanager", **kw)
secrets.create_secret(Name="trustflow/plain", SecretString="Canary-Rust-Pw-41!")
secrets.create_secret(Name="trustflow/json", SecretString=json.dumps({"password": "Canary-Rust-Pw-41!"}))
fixtures["TF_TOPIC"] = boto3.client("sns", **kw).create_topic(Name="rust-tests")["TopicArn"]
boto3.client("events", **kw).create_event_bus(Name="rust-tests")
for domain, scenario in [("unreachable.rust.example", "unreachable"), ("wrongpw.rust.example", "wrong-password"),
                         ("stuck.rust.example", "stuck"), ("adopt.rust.example", "stuck")]:
    control("scenario", {"remoteDomainName": domain, "scenario": scenario})
for name, value in fixtures.items():
    print(f"export {name}={value}")
