"""What the emulator adds to moto's Directory Service: trusts that live, and the calls moto lacks.

moto creates a trust and leaves it `Creating` forever; VerifyTrust, UpdateTrust, the conditional
forwarder calls and RegionsInfo are missing. Here:

* a trust's state follows a named *scenario* of what the remote (on-premises) domain does over
  time, evaluated lazily whenever DescribeTrusts is called (``trust_state_at``); a trust whose remote
  domain is another emulated AWS directory of the Region, in this account or another one
  (``aws-pair``; the directory's own account first), verifies when that directory
  has the complementary trust with the same password (a digest of it is kept, never the password),
  and fails with "Access is denied" otherwise;
* VerifyTrust; UpdateTrust (selective authentication) with the states AWS documents, ``Updating``
  -> ``Updated`` -> ``Verifying`` -> ``Verified`` (``Updated`` is the end for a one-way incoming
  trust, which AWS does not verify), or ``UpdateFailed`` in the ``update-fails`` scenario;
  DeleteTrust with DeleteAssociatedConditionalForwarder; one trust per pair of domains;
* the four conditional-forwarder calls, kept per (directory, domain);
* RegionsInfo in DescribeDirectories, the primary Region settable per directory.

``install(control)`` patches moto; ``control`` holds the scenarios, forwarders and primary Regions
(the emulator's ``Control``). ``seed_directory`` creates a directory straight in moto's backends.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time
import uuid
from datetime import datetime, timezone
from typing import Any

SCENARIOS = ("verifies", "wrong-password", "unreachable", "netbios-clash", "remote-late", "stuck", "update-fails")
ACCESS_DENIED = "The trust relationship could not be verified: Access is denied."
UNREACHABLE = "The specified domain name does not exist or could not be contacted."
NETBIOS = "The operation could not be performed on this domain."
UPDATE_FAILED = "The trust relationship could not be updated."
DOMAIN_PATTERN = re.compile(r"^([a-zA-Z0-9]+[\.-])+([a-zA-Z0-9])+[.]?$")
DIRECTIONS = ("One-Way: Outgoing", "One-Way: Incoming", "Two-Way")
# AddIpRoutes: IpRoute.Description's pattern and length, and the routes a directory may have.
DESCRIPTION_PATTERN = re.compile(r"^([a-zA-Z0-9_])[\\a-zA-Z0-9_@#%*+=:?./!\s-]{0,127}$")
IP_ROUTE_LIMIT = 100

CONTROL: Any = None


def norm(domain: str) -> str:
    return (domain or "").strip().rstrip(".").lower()


# --- a trust's state over time -------------------------------------------------------------------

def pair_verdict(tf: dict[str, Any]) -> tuple[str, str]:
    """A trust between two emulated AWS directories (scenario ``aws-pair``): verified when the other
    directory has the complementary trust for this directory's domain with the same password (AWS
    checks the trust password against the other domain's trusted domain object); "Access is
    denied" when that trust is missing or its password differs."""
    peer = tf["peer"]
    wanted = {"Two-Way": "Two-Way", "One-Way: Outgoing": "One-Way: Incoming", "One-Way: Incoming": "One-Way: Outgoing"}[tf["direction"]]
    for trust in peer.trusts:
        other = getattr(trust, "_tf", None)
        if (other is not None and other.get("deleting_since") is None and norm(trust.remote_domain_name) == tf["own_domain"]
                and trust.trust_direction == wanted and other.get("password_digest") == tf["password_digest"]):
            return "Verified", ""
    return "VerifyFailed", ACCESS_DENIED


def verdict(tf: dict[str, Any], verified_at: float, unit: float) -> tuple[str, str]:
    """What a verification requested at ``verified_at`` finds, in the trust's scenario."""
    scenario = tf["scenario"]
    if scenario == "aws-pair":
        # Decided once, when the verification finishes, as AWS records it.
        key = ("verdict", verified_at)
        if key not in tf:
            tf[key] = pair_verdict(tf)
        return tf[key]
    if scenario in ("verifies", "update-fails"):
        return "Verified", ""
    if scenario == "wrong-password":
        return "VerifyFailed", ACCESS_DENIED
    ready_at = tf["created"] + tf["ready_after_units"] * unit
    return ("Verified", "") if verified_at >= ready_at else ("VerifyFailed", UNREACHABLE)


def state_after_update(tf: dict[str, Any], now: float, unit: float, incoming: bool) -> tuple[str, str]:
    """The states UpdateTrust moves a trust through, one unit each."""
    since = (now - tf["update_requested"]) / unit
    if since < 1:
        return "Updating", ""
    if tf["scenario"] == "update-fails":
        return "UpdateFailed", UPDATE_FAILED
    if since < 2 or incoming:
        return "Updated", ""
    if since < 3:
        return "Verifying", ""
    return verdict(tf, tf["update_requested"], unit)


def trust_state_at(trust: Any, now: float) -> tuple[str, str]:
    """The state and reason of a trust now, from its scenario and the times it was created,
    verified and updated."""
    tf = trust._tf
    unit = CONTROL.state_seconds
    scenario = tf["scenario"]
    incoming = trust.trust_direction == "One-Way: Incoming"
    if tf.get("deleting_since") is not None:
        return "Deleting", ""
    if tf.get("forced") is not None:
        return tf["forced"]
    if tf.get("update_requested") is not None:
        return state_after_update(tf, now, unit, incoming)
    elapsed = (now - tf["created"]) / unit
    if scenario == "stuck":
        return "Creating", ""
    if scenario in ("unreachable", "netbios-clash"):
        if elapsed < 1:
            return "Creating", ""
        return "Failed", UNREACHABLE if scenario == "unreachable" else NETBIOS
    if elapsed < 1:
        return "Creating", ""
    if incoming:
        # AWS does not verify incoming trusts: Created is their end state.
        return "Created", ""
    if elapsed < 2:
        return "Created", ""
    verified_at = tf.get("verify_requested")
    if verified_at is None:
        if elapsed < 3:
            return "Verifying", ""
        if scenario == "aws-pair":
            return verdict(tf, tf["created"], unit)
        if scenario in ("verifies", "update-fails"):
            return "Verified", ""
        return "VerifyFailed", ACCESS_DENIED if scenario == "wrong-password" else UNREACHABLE
    # After a VerifyTrust call: Verifying for one unit, then the verdict of that moment.
    if (now - verified_at) / unit < 1:
        return "Verifying", ""
    return verdict(tf, verified_at, unit)


def refresh(trust: Any) -> None:
    state, reason = trust_state_at(trust, time.time())
    if (state, reason) != (trust.trust_state, trust.trust_state_reason):
        now = datetime.now(timezone.utc)
        trust.trust_state, trust.trust_state_reason = state, reason
        trust.state_last_updated_date_time = now
        trust.last_updated_date_time = now


def all_trusts(backend: Any):
    """Every trust of the backend with its state brought up to date; trusts deleted a unit ago are gone."""
    for directory in backend.directories.values():
        for trust in list(directory.trusts):
            if getattr(trust, "_tf", None) is not None:
                tf = trust._tf
                if tf.get("deleting_since") is not None and (time.time() - tf["deleting_since"]) >= CONTROL.state_seconds:
                    directory.trusts.remove(trust)
                    continue
                refresh(trust)
            yield directory, trust


def find_trust(backend: Any, trust_id: str):
    from moto.ds.exceptions import EntityDoesNotExistException

    for directory, trust in all_trusts(backend):
        if trust.trust_id == trust_id:
            return directory, trust
    raise EntityDoesNotExistException(f"Trust {trust_id} does not exist.")


def every_backend(region: str | None = None) -> list[Any]:
    """moto's Directory Service backends of every account (those it has created), of ``region`` or all."""
    from moto.ds.models import ds_backends

    # dict.items(): moto's own __getitem__ would create a backend for each Region it is asked for.
    return [backend for account_backends in list(ds_backends.values()) for name, backend in list(dict.items(account_backends))
            if region is None or name == region]


def peer_of(backend: Any, directory_id: str, domain: str) -> Any:
    """The emulated directory named ``domain`` (other than ``directory_id``) in ``backend``'s Region:
    one of ``backend``'s account first, else one of another account. None when there is none."""
    backends = [backend] + [b for b in every_backend(backend.region_name) if b is not backend]
    return next((d for b in backends for d in list(b.directories.values())
                 if d.directory_id != directory_id and norm(d.name) == domain), None)


def force_state(trust_id: str, state: str, reason: str) -> dict[str, Any]:
    """Sets a trust's state from now on (a trust that degrades after being verified, say), in any account."""
    for backend in every_backend():
        for directory in backend.directories.values():
            for trust in directory.trusts:
                if trust.trust_id == trust_id and getattr(trust, "_tf", None) is not None:
                    trust._tf["forced"] = (state, reason)
                    refresh(trust)
                    return {"trustId": trust_id, "state": state}
    raise KeyError(f"no trust {trust_id}")


def configure_remote_side(remote_domain_name: str) -> dict[str, Any]:
    """The on-premises administrator finishes their side now: every trust with ``remote_domain_name``
    in the ``remote-late`` scenario verifies from the next VerifyTrust on (its remote side is ready
    from this moment), whatever ``remoteReadyAfterUnits`` said. Nothing else changes: like on AWS,
    the trust stays VerifyFailed until someone asks AWS to verify it again. In any account."""
    configured = []
    for backend in every_backend():
        for _, trust in all_trusts(backend):
            tf = getattr(trust, "_tf", None)
            if tf is not None and norm(trust.remote_domain_name) == norm(remote_domain_name) and tf["scenario"] == "remote-late":
                tf["ready_after_units"] = (time.time() - tf["created"]) / CONTROL.state_seconds
                configured.append(trust.trust_id)
    if not configured:
        raise KeyError(f"no trust with {remote_domain_name} in the remote-late scenario")
    return {"trustIds": configured}


# --- moto patched --------------------------------------------------------------------------------

# AWS Managed Microsoft AD directories per account and Region: moto enforces AWS's default quota
# (20). One test session seeds more than that (each test that needs a directory of its own gets
# one), as an account whose quota was raised would; the quota itself is not what is tested.
DIRECTORY_QUOTA = 100


def install(control: Any) -> None:
    global CONTROL
    CONTROL = control
    from moto.ds.models import Directory

    Directory.CLOUDONLY_MICROSOFT_AD_LIMIT = DIRECTORY_QUOTA
    patch_backend()
    patch_responses()
    patch_regions()


def patch_backend() -> None:
    """CreateTrust with rules and scenarios, DescribeTrusts with live states, DeleteTrust."""
    from moto.ds import models as ds_models
    from moto.ds.exceptions import EntityAlreadyExistsException, InvalidParameterException, UnsupportedOperationException

    Backend = ds_models.DirectoryServiceBackend

    def create_trust(self, directory_id, remote_domain_name, trust_password, trust_direction, trust_type,
                     conditional_forwarder_ip_addrs, selective_auth, conditional_forwarder_ipv6_addrs=None):
        self._validate_directory_id(directory_id)
        if not remote_domain_name or len(remote_domain_name) > 1024 or not DOMAIN_PATTERN.match(remote_domain_name):
            raise InvalidParameterException("Invalid RemoteDomainName. Required and valid domain name.")
        # The message never repeats the password (AWS's does not either).
        if not trust_password or len(trust_password) > 128 or any(ord(c) < 32 for c in trust_password):
            raise InvalidParameterException("Invalid TrustPassword: must be 1-128 printable characters.")
        if trust_direction not in DIRECTIONS:
            raise InvalidParameterException(f"Invalid TrustDirection {trust_direction!r}.")
        directory = self.directories[directory_id]
        if directory.directory_type != "MicrosoftAD":
            raise UnsupportedOperationException("Trusts are supported only for AWS Managed Microsoft AD.")
        domain = norm(remote_domain_name)
        for _, existing in all_trusts(self):
            if existing.directory_id == directory_id and norm(existing.remote_domain_name) == domain:
                raise EntityAlreadyExistsException(f"A trust with {remote_domain_name} already exists.")
        trust = ds_models.Trust(directory_id, remote_domain_name, "", trust_direction, trust_type or "Forest",
                                conditional_forwarder_ip_addrs, selective_auth or "Disabled")
        with CONTROL.lock:
            chosen = CONTROL.scenarios.get(domain, {"scenario": CONTROL.default_scenario, "readyAfterUnits": 6})
        trust._tf = {"scenario": chosen["scenario"], "ready_after_units": chosen.get("readyAfterUnits", 6),
                     "created": time.time(), "verify_requested": None, "deleting_since": None, "update_requested": None}
        peer = peer_of(self, directory_id, domain)
        if peer is not None:
            # The remote domain is another AWS directory (of this account or another in the Region):
            # its trust decides. Only a digest of the password is kept, to compare the two sides.
            trust._tf.update({"scenario": "aws-pair", "peer": peer, "own_domain": norm(directory.name), "direction": trust_direction,
                              "password_digest": hashlib.sha256(trust_password.encode()).hexdigest()})
        directory.trusts.append(trust)
        if conditional_forwarder_ip_addrs or conditional_forwarder_ipv6_addrs:
            CONTROL.forwarders.setdefault((directory_id, domain), {
                "RemoteDomainName": remote_domain_name.rstrip("."), "DnsIpAddrs": list(conditional_forwarder_ip_addrs or []),
                "DnsIpv6Addrs": list(conditional_forwarder_ipv6_addrs or []), "ReplicationScope": "Domain"})
        return trust.trust_id

    original_describe_trusts = Backend.describe_trusts

    def describe_trusts(self, *args, **kwargs):
        list(all_trusts(self))  # brings every trust's state up to date
        return original_describe_trusts(self, *args, **kwargs)

    def delete_trust(self, trust_id, delete_associated_conditional_forwarder):
        directory, trust = find_trust(self, trust_id)
        trust._tf["deleting_since"] = time.time()
        refresh(trust)
        if delete_associated_conditional_forwarder:
            CONTROL.forwarders.pop((directory.directory_id, norm(trust.remote_domain_name)), None)
        return trust_id

    Backend.create_trust = create_trust
    Backend.describe_trusts = describe_trusts
    Backend.delete_trust = delete_trust


def patch_responses() -> None:
    """The calls moto's responses lack: VerifyTrust, UpdateTrust and the conditional forwarders."""
    from moto.core.responses import ActionResult
    from moto.ds import responses as ds_responses
    from moto.ds.exceptions import (
        EntityAlreadyExistsException,
        EntityDoesNotExistException,
        InvalidParameterException,
        UnsupportedOperationException,
    )

    Response = ds_responses.DirectoryServiceResponse
    original_r_describe_trusts = Response.describe_trusts

    def r_describe_trusts(self):
        if self._get_param("TrustIds") == []:
            raise InvalidParameterException("TrustIds must not be an empty list.")
        return original_r_describe_trusts(self)

    def r_verify_trust(self):
        _, trust = find_trust(self.ds_backend, self._get_param("TrustId"))
        if trust.trust_direction == "One-Way: Incoming":
            raise UnsupportedOperationException("AWS does not support verification of incoming trusts.")
        trust._tf["verify_requested"] = time.time()
        refresh(trust)
        return ActionResult({"TrustId": trust.trust_id})

    def r_update_trust(self):
        _, trust = find_trust(self.ds_backend, self._get_param("TrustId"))
        wanted = self._get_param("SelectiveAuth")
        if wanted not in (None, "Enabled", "Disabled"):
            raise InvalidParameterException(f"Invalid SelectiveAuth {wanted!r}.")
        if trust.trust_state not in ("Verified", "Created", "Updated", "VerifyFailed", "UpdateFailed"):
            raise InvalidParameterException(f"The trust {trust.trust_id} cannot be updated in state {trust.trust_state}.")
        if wanted:
            trust.selective_auth = wanted
        trust._tf["update_requested"] = time.time()
        trust._tf["forced"] = None
        refresh(trust)
        return ActionResult({"RequestId": str(uuid.uuid4()), "TrustId": trust.trust_id})

    def r_create_trust(self):
        # moto's own handler drops ConditionalForwarderIpv6Addrs.
        trust_id = self.ds_backend.create_trust(
            directory_id=self._get_param("DirectoryId"), remote_domain_name=self._get_param("RemoteDomainName"),
            trust_password=self._get_param("TrustPassword"), trust_direction=self._get_param("TrustDirection"),
            trust_type=self._get_param("TrustType"),
            conditional_forwarder_ip_addrs=self._get_param("ConditionalForwarderIpAddrs"),
            selective_auth=self._get_param("SelectiveAuth"),
            conditional_forwarder_ipv6_addrs=self._get_param("ConditionalForwarderIpv6Addrs"))
        return ActionResult({"TrustId": trust_id})

    def r_list_ip_routes(self):
        directory_id = self._get_param("DirectoryId")
        self.ds_backend._validate_directory_id(directory_id)
        with CONTROL.lock:
            return ActionResult({"IpRoutesInfo": [dict(route) for route in CONTROL.ip_routes.get(directory_id, [])]})

    def r_add_ip_routes(self):
        directory_id = self._get_param("DirectoryId")
        self.ds_backend._validate_directory_id(directory_id)
        routes = self._get_param("IpRoutes") or []
        if not routes:
            raise InvalidParameterException("IpRoutes is required.")
        with CONTROL.lock:
            present = CONTROL.ip_routes.setdefault(directory_id, [])
            for route in routes:
                cidr = route.get("CidrIp", "")
                try:
                    ipaddress.IPv4Network(cidr)
                except ValueError:
                    raise InvalidParameterException(f"Invalid CidrIp {cidr!r}.")
                if any(existing["CidrIp"] == cidr for existing in present):
                    raise EntityAlreadyExistsException(f"The IP route {cidr} already exists.")
            # The Directory Service's rule for descriptions (AddIpRoutes, IpRoute.Description).
            for route in routes:
                if not DESCRIPTION_PATTERN.match(route.get("Description", "x")):
                    raise InvalidParameterException("Invalid Description.")
            if len(present) + len(routes) > IP_ROUTE_LIMIT:
                from moto.core.exceptions import JsonRESTError
                raise JsonRESTError("IpRouteLimitExceededException", f"IP route limit of {IP_ROUTE_LIMIT} exceeded.")
            for route in routes:
                present.append({"DirectoryId": directory_id, "CidrIp": route["CidrIp"], "IpRouteStatusMsg": "Added",
                                "Description": route.get("Description", ""), "AddedDateTime": time.time()})
        return ActionResult({})

    def r_create_conditional_forwarder(self):
        directory_id = self._get_param("DirectoryId")
        self.ds_backend._validate_directory_id(directory_id)
        domain = self._get_param("RemoteDomainName")
        key = (directory_id, norm(domain))
        if key in CONTROL.forwarders:
            raise EntityAlreadyExistsException(f"A conditional forwarder for {domain} already exists.")
        CONTROL.forwarders[key] = {"RemoteDomainName": domain.rstrip("."), "DnsIpAddrs": self._get_param("DnsIpAddrs") or [],
                                   "DnsIpv6Addrs": self._get_param("DnsIpv6Addrs") or [], "ReplicationScope": "Domain"}
        return ActionResult({})

    def r_describe_conditional_forwarders(self):
        directory_id = self._get_param("DirectoryId")
        self.ds_backend._validate_directory_id(directory_id)
        wanted = [norm(d) for d in (self._get_param("RemoteDomainNames") or [])]
        found = [f for (d, domain), f in CONTROL.forwarders.items() if d == directory_id and (not wanted or domain in wanted)]
        if wanted and not found:
            raise EntityDoesNotExistException("No conditional forwarder exists for the given domain names.")
        return ActionResult({"ConditionalForwarders": found})

    def r_update_conditional_forwarder(self):
        key = (self._get_param("DirectoryId"), norm(self._get_param("RemoteDomainName")))
        if key not in CONTROL.forwarders:
            raise EntityDoesNotExistException("No conditional forwarder exists for that domain.")
        CONTROL.forwarders[key]["DnsIpAddrs"] = self._get_param("DnsIpAddrs") or []
        CONTROL.forwarders[key]["DnsIpv6Addrs"] = self._get_param("DnsIpv6Addrs") or []
        return ActionResult({})

    def r_delete_conditional_forwarder(self):
        key = (self._get_param("DirectoryId"), norm(self._get_param("RemoteDomainName")))
        if CONTROL.forwarders.pop(key, None) is None:
            raise EntityDoesNotExistException("No conditional forwarder exists for that domain.")
        return ActionResult({})

    for name, fn in {
        "describe_trusts": r_describe_trusts, "create_trust": r_create_trust,
        "list_ip_routes": r_list_ip_routes, "add_ip_routes": r_add_ip_routes,
        "verify_trust": r_verify_trust, "update_trust": r_update_trust,
        "create_conditional_forwarder": r_create_conditional_forwarder,
        "describe_conditional_forwarders": r_describe_conditional_forwarders,
        "update_conditional_forwarder": r_update_conditional_forwarder,
        "delete_conditional_forwarder": r_delete_conditional_forwarder,
    }.items():
        setattr(Response, name, fn)


def patch_regions() -> None:
    """DescribeDirectories: RegionsInfo (moto has none), the primary Region settable per directory."""
    from moto.ds import responses as ds_responses

    original_description = ds_responses._directory_description

    def directory_description(directory):
        described = original_description(directory)
        described["RegionsInfo"] = {"PrimaryRegion": CONTROL.primary_regions.get(directory.directory_id, directory.region),
                                    "AdditionalRegions": []}
        return described

    ds_responses._directory_description = directory_description


def open_network(ec2: Any, vpc_id: str, security_group_id: str) -> None:
    """Lets everything through, as the network pre-flight sees it: the controllers' security group
    allows all traffic in (moto's allows all out already), and the VPC's main route table sends
    everything outside the VPC to an attached virtual private gateway. The default network ACL
    allows all traffic both ways."""
    ec2.authorize_security_group_ingress(security_group_id, "-1", None, None, [{"CidrIp": "0.0.0.0/0"}])
    gateway = ec2.create_vpn_gateway("ipsec.1")
    ec2.attach_vpn_gateway(gateway.id, vpc_id)
    (main,) = ec2.describe_route_tables(filters={"vpc-id": [vpc_id], "association.main": ["true"]})
    ec2.create_route(main.id, "0.0.0.0/0", gateway_id=gateway.id)


def seed_directory(spec: dict[str, Any]) -> dict[str, Any]:
    """Creates a directory (and the VPC and subnets moto requires) straight in moto's backends.
    Its network lets everything through unless the spec says `"network": "as-created"` (the
    security group as AWS creates it, no route out of the VPC)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ds.models import ds_backends
    from moto.ec2.models import ec2_backends

    region = spec.get("region", "us-east-1")
    account = spec.get("account", DEFAULT_ACCOUNT_ID)
    ec2 = ec2_backends[account][region]
    # A VPC of its own, 10.0.0.0/16 unless the spec names another /16 ("vpcCidr": directories that
    # trust each other sit in networks that do not overlap, as peered VPCs must).
    cidr = spec.get("vpcCidr", "10.0.0.0/16")
    prefix = ".".join(cidr.split(".")[:2])
    vpc = ec2.create_vpc(cidr)
    subnets = [ec2.create_subnet(vpc.id, f"{prefix}.{i}.0/24", availability_zone=f"{region}{zone}").id
               for i, zone in ((1, "a"), (2, "b"))]
    backend = ds_backends[account][region]
    kind = spec.get("type", "MicrosoftAD")
    settings = {"VpcId": vpc.id, "SubnetIds": subnets}
    if kind == "MicrosoftAD":
        directory_id = backend.create_microsoft_ad(region=region, name=spec["name"], short_name=spec.get("shortName"),
                                                   password="Adm1n-Passw0rd", description=None,
                                                   vpc_settings=settings, edition="Standard", tags=[])
    elif kind == "SimpleAD":
        directory_id = backend.create_directory(region=region, name=spec["name"], short_name=spec.get("shortName"),
                                                password="Adm1n-Passw0rd", description=None, size="Small",
                                                vpc_settings=settings, tags=[])
    else:
        raise ValueError(f"unsupported directory type {kind!r}")
    directory = backend.directories[directory_id]
    if spec.get("network", "open") == "open" and kind == "MicrosoftAD":
        open_network(ec2, vpc.id, directory.security_group_id)
    if "stage" in spec:
        directory.stage = spec["stage"]
    CONTROL.primary_regions[directory_id] = spec.get("primaryRegion", region)
    return {"directoryId": directory_id, "dnsIpAddrs": directory.dns_ip_addrs}
