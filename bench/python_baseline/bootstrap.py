"""A minimal Python Lambda runtime loop (the Runtime API protocol), for the benchmark baseline.

AWS's own client, awslambdaric, hung here after its first `next` call against the benchmark's
runtime API server (its native libcurl client never posted a result), so the baseline uses this
loop instead: the same protocol, with less work per event than awslambdaric does, which only
flatters the Python figures. Usage: python bootstrap.py module.function
"""

import importlib
import json
import os
import sys
import traceback
import urllib.request

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
module_name, function_name = sys.argv[1].rsplit(".", 1)
handler = getattr(importlib.import_module(module_name), function_name)  # init: imports boto3, builds clients

while True:
    with urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(response.read())
    try:
        body, outcome = json.dumps(handler(event, None)).encode(), "response"
    except Exception as error:  # reported to the runtime API, as Lambda does
        body = json.dumps({"errorType": type(error).__name__, "errorMessage": str(error),
                           "stackTrace": traceback.format_exc().splitlines()}).encode()
        outcome = "error"
    urllib.request.urlopen(urllib.request.Request(f"http://{api}/2018-06-01/runtime/invocation/{request_id}/{outcome}",
                                                  data=body, method="POST")).read()
