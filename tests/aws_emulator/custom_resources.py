"""CloudFormation custom resources (``Custom::*`` backed by a Lambda function), as CloudFormation runs
them: Create, Update and Delete, each answered through a response URL.

moto 5.2.x sends only Create (to a Lambda it runs in Docker), handles only a SUCCESS answer (a FAILED
one leaves the stack ``CREATE_IN_PROGRESS`` for ever), and sends neither Update nor Delete: an update
of the resource's properties leaves moto's resource map without the resource, and a delete skips it.
``install(invoke_async, response_base_url)`` replaces that with the protocol of CloudFormation's
custom resource reference:

* The request (``RequestType``, ``ResponseURL``, ``StackId``, ``RequestId``, ``ResourceType``,
  ``LogicalResourceId``, ``ResourceProperties``; for Update and Delete ``PhysicalResourceId``; for
  Update ``OldResourceProperties``) goes to the function behind ``ServiceToken`` as an asynchronous
  invocation. ``ServiceToken`` and ``ServiceTimeout`` stay in ``ResourceProperties``, as on AWS.
* The response URL is one of the emulator's (``/_trustflow/cfn-response/<token>``), the token random
  and good for one answer, as a presigned S3 URL is good for one object. The answer is the JSON of
  the response reference: ``Status`` (SUCCESS or FAILED), ``Reason`` (required for FAILED),
  ``PhysicalResourceId`` (required), ``StackId``, ``RequestId``, ``LogicalResourceId`` (copied
  from the request; a mismatch is refused), ``Data`` (what ``Fn::GetAtt`` reads), at most 4096 bytes.
* No answer within ``ServiceTimeout`` (default 3600 s) fails the operation, as CloudFormation does.
* Create: the stack stays ``CREATE_IN_PROGRESS`` until the answer; SUCCESS completes the resource
  (and the stack once nothing else is pending), FAILED makes the resource ``CREATE_FAILED`` with the
  answer's reason and the stack ``CREATE_FAILED`` (no rollback: as ``OnFailure=DO_NOTHING``).
* UpdateStack returns at once and the stack is ``UPDATE_IN_PROGRESS`` while the Update waits for its
  answer. An answer with another physical id is a replacement: once every resource is updated, the
  old physical id gets a Delete (``UPDATE_COMPLETE_CLEANUP_IN_PROGRESS``), whose failure is an event
  and does not fail the update, as on CloudFormation. A FAILED Update makes the stack
  ``UPDATE_FAILED`` (no rollback: as ``--disable-rollback``).
* DeleteStack returns at once and the stack is ``DELETE_IN_PROGRESS`` while each custom resource's
  Delete waits for its answer; a FAILED answer makes the resource ``DELETE_FAILED`` and the stack
  ``DELETE_FAILED``, with everything kept; otherwise the stack is deleted as moto deletes it.
* Every step is a stack event with the resource's status and the answer's reason.

Not emulated: SNS-backed custom resources, rollbacks (of a failed create or update), and the
``NoEcho`` masking of ``Data``.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

DEFAULT_SERVICE_TIMEOUT = 3600.0
MAX_RESPONSE_BYTES = 4096
TIMED_OUT = ("CloudFormation did not receive a response from your Custom Resource within the ServiceTimeout "
             "({seconds:.0f} s).")


@dataclass
class Pending:
    """One request sent to a custom resource's function, waiting for its answer."""

    stack_id: str
    request_id: str
    logical_id: str
    answered: threading.Event = field(default_factory=threading.Event)
    answer: dict[str, Any] | None = None


_PENDING: dict[str, Pending] = {}
_LOCK = threading.Lock()
_installed = False


def answer(token: str, body: bytes) -> tuple[str, dict[str, Any]]:
    """The response URL's handler: records the answer to the request ``token`` names."""
    if len(body) > MAX_RESPONSE_BYTES:
        return "400 Bad Request", {"error": f"the response is {len(body)} bytes; at most {MAX_RESPONSE_BYTES}"}
    with _LOCK:
        pending = _PENDING.pop(token, None)
    if pending is None:
        return "403 Forbidden", {"error": "no request waits for this response URL (unknown, or already answered)"}
    try:
        reply = json.loads(body)
    except ValueError as error:
        return "400 Bad Request", {"error": f"the response is not JSON: {error}"}
    problems = [f"{key} must be {want!r}" for key, want in
                (("StackId", pending.stack_id), ("RequestId", pending.request_id), ("LogicalResourceId", pending.logical_id))
                if reply.get(key) != want]
    if reply.get("Status") not in ("SUCCESS", "FAILED"):
        problems.append("Status must be SUCCESS or FAILED")
    if not reply.get("PhysicalResourceId"):
        problems.append("PhysicalResourceId is required")
    if reply.get("Status") == "FAILED" and not reply.get("Reason"):
        problems.append("Reason is required when Status is FAILED")
    if problems:
        # CloudFormation fails the resource with an "invalid response" reason.
        reply = {"Status": "FAILED", "Reason": "Invalid response object: " + "; ".join(problems),
                 "PhysicalResourceId": reply.get("PhysicalResourceId") or ""}
    pending.answer = reply
    pending.answered.set()
    return "200 OK", {}


def install(invoke_async: Callable[[str, dict[str, Any]], None], response_base_url: str) -> None:
    """Replaces moto's custom resources with the protocol above (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    from moto.cloudformation import cloudformation_backends
    from moto.cloudformation import models as cfn_models
    from moto.cloudformation.custom_model import CustomModel

    def backend_of(stack_id: str) -> Any:
        _, _, _, region, account = stack_id.split(":")[:5]
        return cloudformation_backends[account][region]

    def request(resource: Any, request_type: str, properties: dict[str, Any], physical_id: str | None = None,
                old_properties: dict[str, Any] | None = None) -> dict[str, Any]:
        """Sends one request to the resource's function and waits for its answer (or the timeout)."""
        token = secrets.token_urlsafe(24)
        request_id = str(uuid.uuid4())
        pending = Pending(resource.stack_id, request_id, resource.logical_id)
        with _LOCK:
            _PENDING[token] = pending
        event: dict[str, Any] = {
            "RequestType": request_type, "ServiceToken": properties["ServiceToken"],
            "ResponseURL": f"{response_base_url}/_trustflow/cfn-response/{token}", "StackId": resource.stack_id,
            "RequestId": request_id, "ResourceType": resource.resource_type, "LogicalResourceId": resource.logical_id,
            "ResourceProperties": properties,
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            event["OldResourceProperties"] = old_properties
        timeout = float(properties.get("ServiceTimeout", DEFAULT_SERVICE_TIMEOUT))
        invoke_async(properties["ServiceToken"], event)
        if not pending.answered.wait(timeout):
            with _LOCK:
                _PENDING.pop(token, None)
            return {"Status": "FAILED", "Reason": TIMED_OUT.format(seconds=timeout), "PhysicalResourceId": physical_id or ""}
        assert pending.answer is not None
        return pending.answer

    def resource_event(stack: Any, resource: Any, status: str, reason: str | None = None) -> None:
        stack.events.append(cfn_models.Event(
            stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=resource.logical_id,
            physical_resource_id=resource.physical_id or "", resource_type=resource.resource_type,
            resource_status=status, resource_status_reason=reason, resource_properties=None))

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        resource = CustomModel(region_name, "", kwargs["LogicalId"], resource_name)
        resource.stack_id = kwargs["StackId"]
        resource.resource_type = kwargs["ResourceType"]
        resource.properties = dict(cloudformation_json["Properties"])
        resource.physical_id = ""
        resource.failed = False
        stack = backend_of(resource.stack_id).get_stack(resource.stack_id)
        stack.add_custom_resource(resource)

        def create() -> None:
            reply = request(resource, "Create", resource.properties)
            resource.physical_id = reply.get("PhysicalResourceId") or resource_name
            if reply["Status"] == "SUCCESS":
                resource_event(stack, resource, "CREATE_COMPLETE")
                resource.set_data(reply.get("Data") or {})
                if stack.status == "CREATE_IN_PROGRESS":
                    stack.verify_readiness()
            else:
                resource.failed = True
                resource_event(stack, resource, "CREATE_FAILED", reply.get("Reason"))
                stack.status = "CREATE_FAILED"
                stack._add_stack_event("CREATE_FAILED", resource_status_reason=(
                    f"The following resource(s) failed to create: [{resource.logical_id}]."))

        threading.Thread(target=create, daemon=True).start()
        return resource

    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id,
                                        region_name):
        resource = original_resource
        stack = backend_of(resource.stack_id).get_stack(resource.stack_id)
        new_properties = dict(cloudformation_json["Properties"])
        resource_event(stack, resource, "UPDATE_IN_PROGRESS")
        reply = request(resource, "Update", new_properties, physical_id=resource.physical_id,
                        old_properties=resource.properties)
        if reply["Status"] != "SUCCESS":
            resource_event(stack, resource, "UPDATE_FAILED", reply.get("Reason"))
            stack._trustflow_update_failures.append(resource.logical_id)
            return resource
        new_physical_id = reply.get("PhysicalResourceId") or resource.physical_id
        if new_physical_id != resource.physical_id:
            stack._trustflow_replaced.append((resource.physical_id, dict(resource.properties), resource))
        resource.physical_id = new_physical_id
        resource.properties = new_properties
        resource.data = reply.get("Data") or {}
        resource_event(stack, resource, "UPDATE_COMPLETE")
        return resource

    CustomModel.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
    CustomModel.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)
    CustomModel.physical_resource_id = property(lambda self: getattr(self, "physical_id", "") or self.resource_name)

    original_update = cfn_models.Stack.update

    def update(self, template, role_arn=None, parameters=None, tags=None):
        if not self.custom_resources:
            return original_update(self, template, role_arn, parameters, tags)
        self.status = "UPDATE_IN_PROGRESS"
        self._trustflow_update_failures = []
        self._trustflow_replaced = []

        def run() -> None:
            # moto's Stack.update without its events and final status: the outcome is decided below.
            self.template = template
            self._parse_template()
            self.resource_map.update(self.template_dict, parameters)
            self.output_map = self._create_output_map()
            self.role_arn = role_arn
            if parameters:
                self.parameters = parameters
            if tags is not None:
                self.tags = tags
            if self._trustflow_update_failures:
                self.status = "UPDATE_FAILED"
                self._add_stack_event("UPDATE_FAILED", resource_status_reason=(
                    f"The following resource(s) failed to update: [{', '.join(self._trustflow_update_failures)}]."))
                return
            if self._trustflow_replaced:
                self.status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
                self._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
                for old_physical_id, old_properties, resource in self._trustflow_replaced:
                    old = _OldResource(resource, old_physical_id)
                    resource_event(self, old, "DELETE_IN_PROGRESS")
                    reply = request(old, "Delete", old_properties, physical_id=old_physical_id)
                    resource_event(self, old, "DELETE_COMPLETE" if reply["Status"] == "SUCCESS" else "DELETE_FAILED",
                                   reply.get("Reason"))
            self.status = "UPDATE_COMPLETE"
            self._add_stack_event("UPDATE_COMPLETE")

        self._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
        threading.Thread(target=run, daemon=True).start()

    cfn_models.Stack.update = update

    original_delete_stack = cfn_models.CloudFormationBackend.delete_stack

    def delete_stack(self, name_or_stack_id):
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None)
        if stack is None or not stack.custom_resources:
            return original_delete_stack(self, name_or_stack_id)
        stack.status = "DELETE_IN_PROGRESS"
        stack._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")

        def run() -> None:
            for resource in list(stack.custom_resources.values()):
                if getattr(resource, "failed", False) and not resource.physical_id:
                    continue
                resource_event(stack, resource, "DELETE_IN_PROGRESS")
                reply = request(resource, "Delete", resource.properties, physical_id=resource.physical_resource_id)
                if reply["Status"] != "SUCCESS":
                    resource_event(stack, resource, "DELETE_FAILED", reply.get("Reason"))
                    stack.status = "DELETE_FAILED"
                    stack._add_stack_event("DELETE_FAILED", resource_status_reason=(
                        f"The following resource(s) failed to delete: [{resource.logical_id}]."))
                    return
                resource_event(stack, resource, "DELETE_COMPLETE")
            stack.custom_resources.clear()
            original_delete_stack(self, stack.stack_id)

        threading.Thread(target=run, daemon=True).start()

    cfn_models.CloudFormationBackend.delete_stack = delete_stack


class _OldResource:
    """The physical resource a replacement left behind, as its Delete names it."""

    def __init__(self, resource: Any, physical_id: str) -> None:
        self.stack_id = resource.stack_id
        self.logical_id = resource.logical_id
        self.resource_type = resource.resource_type
        self.physical_id = physical_id
