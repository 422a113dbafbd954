"""``credential_process`` of the local stack's functions: their own execution role's credentials.

On AWS, Lambda gives each function a session of its execution role. Locally one runtime emulator
(``cargo lambda watch``) serves every function with one environment, so that environment names this
program (through an AWS config file) instead of credentials. The AWS SDK runs it when a function
first needs credentials; it runs in the function's process, whose ``AWS_LAMBDA_FUNCTION_NAME`` the
runtime emulator sets, and asks the emulator for a session of that function's role. The emulator
then holds each function to its role's policies (``iam_enforcement.py``).

Prints the ``credential_process`` JSON (Version 1) on stdout; exits 1 with the reason on stderr.
"""

import json
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not function or not endpoint:
        print("function_credentials: AWS_LAMBDA_FUNCTION_NAME and AWS_ENDPOINT_URL must be set", file=sys.stderr)
        return 1
    request = urllib.request.Request(f"{endpoint.rstrip('/')}/_trustflow/function-credentials",
                                     data=json.dumps({"function": function}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            sys.stdout.write(response.read().decode())
    except urllib.error.HTTPError as error:
        print(f"function_credentials: no role for {function!r}: {error.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
