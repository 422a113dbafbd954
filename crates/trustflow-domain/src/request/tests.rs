use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

fn valid() -> Value {
    json!({
        "requestId": "REQ-2026-0042",
        "directoryId": "d-1234567890",
        "remoteDomainName": "corp.example.com",
        "trustType": "Forest",
        "trustDirection": "Two-Way",
        "conditionalForwarderIpAddrs": ["172.16.10.153", "172.16.10.154"],
        "selectiveAuth": "Disabled",
        "trustPassword": {"secretId": "trustflow/corp.example.com", "jsonKey": "password"},
        "notify": {"topicArn": "arn:aws:sns:us-east-1:123456789012:identity-team"},
        "onExistingTrust": "keep",
        "requestedBy": "alice@example.com"
    })
}

fn with(field: &str, value: Value) -> Value {
    let mut request = valid();
    request[field] = value;
    request
}

fn without(field: &str) -> Value {
    let mut request = valid();
    request.as_object_mut().map(|o| o.remove(field));
    request
}

fn violations(input: &Value) -> Vec<Violation> {
    match parse_request(input) {
        Err(WorkflowError::ValidationFailed(violations)) => violations,
        other => panic!("expected ValidationFailed, got {other:?}"),
    }
}

#[test]
fn accepts_a_complete_request_and_normalises_it() {
    let mut input = valid();
    input["remoteDomainName"] = json!("Corp.Example.COM.");
    input["trustDirection"] = json!("outgoing");
    input["selectiveAuth"] = json!(true);
    let request = parse_request(&input).expect("valid request");
    assert_eq!(request.remote_domain_name, "corp.example.com");
    assert_eq!(request.trust_direction, TrustDirection::OneWayOutgoing);
    assert_eq!(request.selective_auth, SelectiveAuth::Enabled);
    assert_eq!(request.conditional_forwarder_ip_addrs.len(), 2);
    assert_eq!(request.trust_password.json_key.as_deref(), Some("password"));
}

#[test]
fn applies_defaults_for_optional_fields() {
    let input = json!({
        "requestId": "r1",
        "directoryId": "d-1234567890",
        "remoteDomainName": "corp.example.com",
        "trustDirection": "incoming",
        "trustPassword": {"secretId": "trust-secret"}
    });
    let request = parse_request(&input).expect("valid request");
    assert_eq!(request.trust_type, TrustType::Forest);
    assert_eq!(request.selective_auth, SelectiveAuth::Disabled);
    assert_eq!(request.on_existing_trust, ExistingTrustPolicy::Keep);
    assert!(request.conditional_forwarder_ip_addrs.is_empty());
    assert!(request.notify.is_none());
}

#[test]
fn unwraps_an_eventbridge_envelope() {
    let event = json!({
        "version": "0", "id": "e1", "detail-type": "Trust Requested", "source": "portal.identity",
        "account": "123456789012", "time": "2026-11-24T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": valid()
    });
    assert_eq!(parse_request(&event).expect("valid").request_id, "REQ-2026-0042");
}

#[test]
fn rejects_an_event_of_another_detail_type() {
    let event = json!({"detail-type": "Trust Deleted", "detail": valid()});
    let v = violations(&event);
    assert_eq!(v[0].field, "detail-type");
    assert!(v[0].to_string().contains("Trust Deleted"));
}

#[test]
fn reports_every_broken_rule_at_once() {
    let mut input = valid();
    input["directoryId"] = json!("d-XYZ");
    input["remoteDomainName"] = json!("corp");
    input["conditionalForwarderIpAddrs"] = json!(["127.0.0.1"]);
    let fields: Vec<String> = violations(&input).into_iter().map(|v| v.field).collect();
    assert_eq!(fields, ["directoryId", "remoteDomainName", "conditionalForwarderIpAddrs[0]"]);
}

/// A table of bad inputs: each names the field it must be blamed on and a piece of the rule.
#[test]
fn rejects_bad_inputs_naming_field_rule_and_value() {
    let long_label = format!("{}.example.com", "a".repeat(64));
    let long_name = format!("{}.com", ["abcdefghij"; 25].join("."));
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        // (case, input, field blamed, words of the rule)
        ("missing request id", without("requestId"), "requestId", "is required"),
        ("request id with spaces", with("requestId", json!("REQ 1")), "requestId", "letters, digits"),
        ("request id with a colon", with("requestId", json!("REQ:1")), "requestId", "letters, digits"),
        ("request id too long", with("requestId", json!("r".repeat(65))), "requestId", "1 to 64"),
        ("request id not a string", with("requestId", json!(42)), "requestId", "must be a string"),
        ("missing directory id", without("directoryId"), "directoryId", "is required"),
        ("directory id upper case", with("directoryId", json!("d-12345ABCDE")), "directoryId", "^d-[0-9a-f]{10}$"),
        ("directory id too short", with("directoryId", json!("d-12345")), "directoryId", "^d-[0-9a-f]{10}$"),
        ("directory id wrong prefix", with("directoryId", json!("s-1234567890")), "directoryId", "^d-[0-9a-f]{10}$"),
        ("missing remote domain", without("remoteDomainName"), "remoteDomainName", "is required"),
        ("empty remote domain", with("remoteDomainName", json!("")), "remoteDomainName", "must not be empty"),
        ("single label remote domain", with("remoteDomainName", json!("corp")), "remoteDomainName", "single-label"),
        ("single label with trailing dot", with("remoteDomainName", json!("corp.")), "remoteDomainName", "single-label"),
        ("underscore in domain", with("remoteDomainName", json!("corp_ad.example.com")), "remoteDomainName", "only ASCII letters"),
        ("space in domain", with("remoteDomainName", json!("corp .example.com")), "remoteDomainName", "only ASCII letters"),
        (
            "cyrillic look-alike in domain",
            with("remoteDomainName", json!("c\u{043e}rp.example.com")),
            "remoteDomainName",
            "only ASCII letters",
        ),
        ("control character in domain", with("remoteDomainName", json!("corp\n.example.com")), "remoteDomainName", "only ASCII letters"),
        ("leading dot", with("remoteDomainName", json!(".corp.example.com")), "remoteDomainName", "empty labels"),
        ("double dot", with("remoteDomainName", json!("corp..example.com")), "remoteDomainName", "empty labels"),
        ("label starting with hyphen", with("remoteDomainName", json!("-corp.example.com")), "remoteDomainName", "hyphens"),
        ("label ending with hyphen", with("remoteDomainName", json!("corp-.example.com")), "remoteDomainName", "hyphens"),
        ("double hyphen", with("remoteDomainName", json!("xn--corp.example.com")), "remoteDomainName", "hyphens"),
        ("label over 63", with("remoteDomainName", json!(long_label)), "remoteDomainName", "63"),
        ("name over 253", with("remoteDomainName", json!(long_name)), "remoteDomainName", "253"),
        ("ip address as domain", with("remoteDomainName", json!("172.16.10.153")), "remoteDomainName", "not an IP address"),
        ("unknown trust type", with("trustType", json!("Realm")), "trustType", "\"Forest\" or \"External\""),
        ("missing direction", without("trustDirection"), "trustDirection", "is required"),
        ("unknown direction", with("trustDirection", json!("sideways")), "trustDirection", "Two-Way"),
        ("direction not a string", with("trustDirection", json!(2)), "trustDirection", "Two-Way"),
        ("forwarders not an array", with("conditionalForwarderIpAddrs", json!("172.16.10.153")), "conditionalForwarderIpAddrs", "array"),
        ("forwarders empty", with("conditionalForwarderIpAddrs", json!([])), "conditionalForwarderIpAddrs", "1 to 4"),
        (
            "five forwarders",
            with("conditionalForwarderIpAddrs", json!(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"])),
            "conditionalForwarderIpAddrs",
            "1 to 4",
        ),
        (
            "forwarder not an address",
            with("conditionalForwarderIpAddrs", json!(["dns1.corp.example.com"])),
            "conditionalForwarderIpAddrs[0]",
            "IPv4",
        ),
        ("forwarder octet over 255", with("conditionalForwarderIpAddrs", json!(["10.0.0.256"])), "conditionalForwarderIpAddrs[0]", "IPv4"),
        (
            "forwarder with leading zero",
            with("conditionalForwarderIpAddrs", json!(["10.0.0.01"])),
            "conditionalForwarderIpAddrs[0]",
            "IPv4",
        ),
        ("forwarder ipv6", with("conditionalForwarderIpAddrs", json!(["fd00::53"])), "conditionalForwarderIpAddrs[0]", "IPv4"),
        (
            "forwarder loopback",
            with("conditionalForwarderIpAddrs", json!(["10.0.0.1", "127.0.0.53"])),
            "conditionalForwarderIpAddrs[1]",
            "loopback",
        ),
        ("forwarder multicast", with("conditionalForwarderIpAddrs", json!(["224.0.0.251"])), "conditionalForwarderIpAddrs[0]", "multicast"),
        (
            "forwarder broadcast",
            with("conditionalForwarderIpAddrs", json!(["255.255.255.255"])),
            "conditionalForwarderIpAddrs[0]",
            "broadcast",
        ),
        ("forwarder unspecified", with("conditionalForwarderIpAddrs", json!(["0.0.0.0"])), "conditionalForwarderIpAddrs[0]", "0.0.0.0/8"),
        (
            "forwarder repeated",
            with("conditionalForwarderIpAddrs", json!(["10.0.0.1", "10.0.0.1"])),
            "conditionalForwarderIpAddrs[1]",
            "repeat",
        ),
        ("forwarder a number", with("conditionalForwarderIpAddrs", json!([167772161])), "conditionalForwarderIpAddrs[0]", "as a string"),
        ("selective auth unknown", with("selectiveAuth", json!("Sometimes")), "selectiveAuth", "\"Enabled\" or \"Disabled\""),
        ("missing password location", without("trustPassword"), "trustPassword", "is required"),
        (
            "password location without secret id",
            with("trustPassword", json!({"jsonKey": "password"})),
            "trustPassword.secretId",
            "is required",
        ),
        ("secret id with spaces", with("trustPassword", json!({"secretId": "my secret"})), "trustPassword.secretId", "secret name"),
        (
            "secret arn of another service",
            with("trustPassword", json!({"secretId": "arn:aws:ssm:us-east-1:123456789012:parameter/x"})),
            "trustPassword.secretId",
            "secret ARN",
        ),
        ("json key empty", with("trustPassword", json!({"secretId": "s", "jsonKey": ""})), "trustPassword.jsonKey", "1 to 256"),
        ("notify not an object", with("notify", json!("alice@example.com")), "notify", "topicArn"),
        ("notify topic not an arn", with("notify", json!({"topicArn": "identity-team"})), "notify.topicArn", "SNS topic ARN"),
        (
            "notify unknown field",
            with("notify", json!({"topicArn": "arn:aws:sns:us-east-1:123456789012:t", "email": "a@b.c"})),
            "notify.\"email\"",
            "not a field",
        ),
        (
            "ipv6 forwarders not an array",
            with("conditionalForwarderIpv6Addrs", json!("fd00::53")),
            "conditionalForwarderIpv6Addrs",
            "array of 1 to 4 IPv6",
        ),
        ("ipv6 forwarders empty", with("conditionalForwarderIpv6Addrs", json!([])), "conditionalForwarderIpv6Addrs", "1 to 4 IPv6"),
        (
            "ipv6 forwarder malformed",
            with("conditionalForwarderIpv6Addrs", json!(["fd00::53::1"])),
            "conditionalForwarderIpv6Addrs[0]",
            "IPv6 address",
        ),
        (
            "ipv6 forwarder is ipv4",
            with("conditionalForwarderIpv6Addrs", json!(["10.0.0.53"])),
            "conditionalForwarderIpv6Addrs[0]",
            "IPv6 address",
        ),
        ("ipv6 forwarder loopback", with("conditionalForwarderIpv6Addrs", json!(["::1"])), "conditionalForwarderIpv6Addrs[0]", "loopback"),
        (
            "ipv6 forwarder link-local",
            with("conditionalForwarderIpv6Addrs", json!(["fe80::1"])),
            "conditionalForwarderIpv6Addrs[0]",
            "link-local",
        ),
        (
            "ipv6 forwarder multicast",
            with("conditionalForwarderIpv6Addrs", json!(["ff02::1"])),
            "conditionalForwarderIpv6Addrs[0]",
            "multicast",
        ),
        (
            "ipv6 forwarder mapped ipv4",
            with("conditionalForwarderIpv6Addrs", json!(["::ffff:10.0.0.53"])),
            "conditionalForwarderIpv6Addrs[0]",
            "IPv4-mapped",
        ),
        (
            "ipv6 forwarder repeated",
            with("conditionalForwarderIpv6Addrs", json!(["fd00::53", "fd00:0::53"])),
            "conditionalForwarderIpv6Addrs[1]",
            "repeat",
        ),
        ("remote cidrs not an array", with("remoteDomainCidrs", json!("10.20.0.0/16")), "remoteDomainCidrs", "array of 1 to 16"),
        ("remote cidrs empty", with("remoteDomainCidrs", json!([])), "remoteDomainCidrs", "1 to 16"),
        ("remote cidr host bits", with("remoteDomainCidrs", json!(["10.20.1.0/16"])), "remoteDomainCidrs[0]", "did you mean 10.20.0.0/16?"),
        ("remote cidr without a prefix", with("remoteDomainCidrs", json!(["10.20.0.0"])), "remoteDomainCidrs[0]", "a.b.c.d/n"),
        ("remote cidr the whole internet", with("remoteDomainCidrs", json!(["0.0.0.0/0"])), "remoteDomainCidrs[0]", "not 0.0.0.0/0"),
        ("remote cidrs overlapping", with("remoteDomainCidrs", json!(["10.20.0.0/16", "10.20.5.0/24"])), "remoteDomainCidrs[1]", "overlap"),
        ("preflight unknown", with("preflight", json!("strict")), "preflight", "\"enforce\", \"warn\" or \"off\""),
        ("dry run not a boolean", with("dryRun", json!(1)), "dryRun", "true or false"),
        ("add ip routes not a boolean", with("addIpRoutes", json!("yes")), "addIpRoutes", "true or false"),
        ("existing trust policy unknown", with("onExistingTrust", json!("overwrite")), "onExistingTrust", "\"keep\""),
        ("requested by empty", with("requestedBy", json!("")), "requestedBy", "1 to 256"),
        ("unknown field", with("trustPasswordValue", json!("x")), "\"trustPasswordValue\"", "not a field of a trust request"),
        ("not an object", json!(["corp.example.com"]), "(request)", "JSON object"),
        ("oversized", with("requestedBy", json!("a".repeat(9000))), "(request)", "at most 8192 bytes"),
    ];
    assert!(cases.len() >= 30);
    for (case, input, field, rule_words) in cases {
        let found = violations(&input);
        let violation = found.iter().find(|v| v.field == field).unwrap_or_else(|| panic!("{case}: no violation on {field}: {found:?}"));
        assert!(violation.rule.contains(rule_words), "{case}: rule {:?} lacks {rule_words:?}", violation.rule);
        // A value is shown where one was given and it may be shown.
        let shown_value_expected =
            !violation.rule.contains("is required") && !matches!(field, "(request)") && !violation.rule.contains("not a field");
        assert_eq!(violation.value.is_some(), shown_value_expected, "{case}: value shown = {:?}", violation.value);
        assert!(parse_request(&input).is_err());
    }
}

#[test]
fn takes_ipv6_forwarders_beside_or_instead_of_ipv4_ones_and_lists_both() {
    let both = parse_request(&with("conditionalForwarderIpv6Addrs", json!(["FD00:10:0::53", "2600:1f18::53"]))).expect("valid");
    assert_eq!(both.forwarder_addresses(), ["172.16.10.153", "172.16.10.154", "fd00:10::53", "2600:1f18::53"].map(str::to_owned));
    let mut only_ipv6 = with("conditionalForwarderIpv6Addrs", json!(["fd00:10::53"]));
    only_ipv6.as_object_mut().expect("object").remove("conditionalForwarderIpAddrs");
    let request = parse_request(&only_ipv6).expect("valid");
    assert!(request.conditional_forwarder_ip_addrs.is_empty());
    assert_eq!(request.forwarder_addresses(), ["fd00:10::53"]);
    assert!(!request.add_ip_routes, "no consent unless given");
}

#[test]
fn preflight_is_enforced_unless_the_request_says_otherwise() {
    let plain = parse_request(&valid()).expect("valid");
    assert_eq!(plain.preflight, PreflightMode::Enforce);
    assert!(!plain.dry_run && plain.remote_domain_cidrs.is_empty());
    let mut body = with("preflight", json!("warn"));
    body["dryRun"] = json!(true);
    body["remoteDomainCidrs"] = json!(["10.20.0.0/16", "192.168.7.0/24"]);
    let request = parse_request(&body).expect("valid");
    assert_eq!(request.preflight, PreflightMode::Warn);
    assert!(request.dry_run);
    assert_eq!(request.remote_domain_cidrs.iter().map(ToString::to_string).collect::<Vec<_>>(), ["10.20.0.0/16", "192.168.7.0/24"]);
}

#[test]
fn names_the_forwarder_addresses_outside_rfc_1918() {
    let request = parse_request(&with("conditionalForwarderIpAddrs", json!(["10.0.0.53", "203.0.113.10", "172.32.0.1", "192.168.1.1"])))
        .expect("valid");
    assert_eq!(
        request.public_forwarder_addrs(),
        ["203.0.113.10".parse::<std::net::Ipv4Addr>().expect("ip"), "172.32.0.1".parse().expect("ip")]
    );
    let consenting = parse_request(&with("addIpRoutes", json!(true))).expect("valid");
    assert!(consenting.add_ip_routes);
}

#[test]
fn never_echoes_a_password_pasted_in_place_of_the_secret_location() {
    let canary = "Canary-P@ssw0rd-7f3a";
    for input in [
        with("trustPassword", json!(canary)),
        with("password", json!(canary)),
        with("trustPassword", json!({"secretId": "s", "value": canary})),
    ] {
        let error = parse_request(&input).expect_err("must be rejected");
        let message = error.to_string();
        assert!(!message.contains(canary), "password echoed: {message}");
        assert!(message.contains("trustPassword") || message.contains("password"), "{message}");
    }
}

#[test]
fn shows_control_characters_and_look_alikes_escaped() {
    let error = parse_request(&with("remoteDomainName", json!("c\u{043e}rp.example.com\u{7}"))).expect_err("bad");
    let message = error.to_string();
    assert!(message.contains("\\u{43e}"), "{message}");
    assert!(message.contains("\\u{7}"), "{message}");
}

#[test]
fn peeks_reply_address_of_an_invalid_request() {
    let mut input = valid();
    input["directoryId"] = json!("nope");
    let (id, topic) = peek_reply_to(&input);
    assert_eq!(id.as_deref(), Some("REQ-2026-0042"));
    assert_eq!(topic.as_deref(), Some("arn:aws:sns:us-east-1:123456789012:identity-team"));
    let (id, topic) = peek_reply_to(&json!({"requestId": "bad id!", "notify": {"topicArn": "x"}}));
    assert_eq!((id, topic), (None, None));
}

#[test]
fn accepts_secret_arns_and_names() {
    assert!(is_secret_id("arn:aws:secretsmanager:us-east-1:123456789012:secret:trustflow/corp-AbCdEf"));
    assert!(is_secret_id("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x"));
    assert!(is_secret_id("trustflow/corp.example.com"));
    assert!(!is_secret_id(""));
    assert!(!is_secret_id("arn:aws:secretsmanager:us-east-1:12345:secret:x"));
}

/// The Directory Service's own pattern for RemoteDomainName.
fn aws_pattern() -> regex::Regex {
    regex::Regex::new(r"^([a-zA-Z0-9]+[\.-])+([a-zA-Z0-9])+[.]?$").expect("pattern compiles")
}

fn label() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]([a-zA-Z0-9]|-[a-zA-Z0-9]){0,20}"
}

/// Cases per property: 2000 in the normal run; `TRUSTFLOW_FUZZ_CASES` raises it for a long fuzzing run
/// (docs/reliability.md records one).
fn cases() -> u32 {
    std::env::var("TRUSTFLOW_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn any_multi_label_hostname_is_accepted_and_normalised(labels in prop::collection::vec(label(), 2..6), tld in "[a-zA-Z]{2,10}", dot in any::<bool>()) {
        let mut name = format!("{}.{}", labels.join("."), tld);
        if dot { name.push('.'); }
        let normalized = check_fqdn(&name).expect("valid hostname");
        prop_assert_eq!(&normalized, &normalized.to_ascii_lowercase());
        prop_assert!(!normalized.ends_with('.'));
        prop_assert_eq!(check_fqdn(&name.to_ascii_uppercase()), Ok(normalized));
    }

    #[test]
    fn whatever_is_accepted_matches_the_directory_service_pattern(name in "\\PC{0,40}|[a-z0-9.-]{0,40}") {
        if let Ok(normalized) = check_fqdn(&name) {
            prop_assert!(aws_pattern().is_match(&name), "accepted {:?} that AWS rejects", name);
            prop_assert!(normalized.contains('.'));
        }
    }

    #[test]
    fn single_labels_are_rejected(name in label(), dot in any::<bool>()) {
        let name = if dot { format!("{name}.") } else { name };
        prop_assert!(check_fqdn(&name).is_err());
    }

    #[test]
    fn every_unicast_address_round_trips(octets in any::<[u8; 4]>()) {
        let addr = Ipv4Addr::from(octets);
        let rejected = check_forwarder_addr(addr).is_some();
        let special = addr.is_loopback() || addr.is_multicast() || addr.is_broadcast() || octets[0] == 0 || octets[0] >= 240;
        prop_assert_eq!(rejected, special);
        let parsed = parse_request(&with("conditionalForwarderIpAddrs", json!([addr.to_string()])));
        prop_assert_eq!(parsed.is_ok(), !special);
        if let Ok(request) = parsed { prop_assert_eq!(request.conditional_forwarder_ip_addrs, vec![addr]); }
    }

    #[test]
    fn arbitrary_json_never_panics_the_parser(text in "\\PC{0,200}") {
        let value = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
        let _ = parse_request(&value);
        let _ = parse_request(&with("remoteDomainName", value.clone()));
        let _ = parse_request(&with("conditionalForwarderIpAddrs", json!([value])));
    }
}

#[test]
fn each_message_states_its_rule_once_and_the_offending_value_once() {
    let bad = [
        with("conditionalForwarderIpAddrs", json!(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"])),
        with("conditionalForwarderIpAddrs", json!([])),
        with("conditionalForwarderIpAddrs", json!("10.0.0.1")),
        with("trustPassword", json!("Pasted-P@ss")),
        with("requestId", json!("has space")),
        with("trustDirection", json!("sideways")),
        with("remoteDomainName", json!("corp")),
        with("requestedBy", json!(42)),
        with("x".repeat(9000).as_str(), json!(1)),
    ];
    for input in bad {
        let error = parse_request(&input).expect_err("must be rejected");
        for line in error.to_string().lines() {
            assert!(line.matches("got").count() <= 1, "{line}");
        }
    }
    let five = violations(&with("conditionalForwarderIpAddrs", json!(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"])));
    assert_eq!(five.len(), 1);
    assert!(five[0].to_string().starts_with("conditionalForwarderIpAddrs: must list 1 to 4 DNS server addresses"), "{}", five[0]);
}

#[test]
fn several_broken_rules_are_listed_one_per_line_and_none_is_split() {
    let mut input = with("requestId", json!("a; b"));
    input["directoryId"] = json!("d-1; 2");
    let message = parse_request(&input).expect_err("rejected").to_string();
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines[0], "the trust request was rejected:");
    assert!(lines[1].starts_with("- requestId: ") && lines[1].ends_with("(got \"a; b\")"), "{message}");
    assert!(lines[2].starts_with("- directoryId: ") && lines[2].ends_with("(got \"d-1; 2\")"), "{message}");
    assert_eq!(lines.len(), 3, "{message}");
}

#[test]
fn a_pair_must_name_another_directory_than_its_own() {
    let mut request = serde_json::json!({
        "requestId": "REQ-1", "directoryId": "d-1234567890", "remoteDomainName": "sales.example.com",
        "remoteDirectoryId": "d-1234567890", "trustDirection": "Two-Way", "trustPassword": {"secretId": "s"}
    });
    match parse_request(&request) {
        Err(WorkflowError::ValidationFailed(violations)) => {
            assert_eq!(violations.len(), 1, "{violations:?}");
            assert_eq!(violations[0].field, "remoteDirectoryId");
            assert!(violations[0].rule.contains("another directory"), "{}", violations[0].rule);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    request["remoteDirectoryId"] = serde_json::json!("d-0987654321");
    let parsed = parse_request(&request).expect("a pair without forwarders is valid: they default to the other directory's DNS");
    assert_eq!(parsed.remote_directory_id.as_deref(), Some("d-0987654321"));
    assert!(parsed.conditional_forwarder_ip_addrs.is_empty());
}

#[test]
fn a_remote_role_is_an_iam_role_arn_given_with_the_remote_directory() {
    let role = "arn:aws:iam::222222222222:role/trustflow/remote-directories";
    let mut request = serde_json::json!({
        "requestId": "REQ-1", "directoryId": "d-1234567890", "remoteDomainName": "sales.example.com",
        "remoteDirectoryId": "d-0987654321", "remoteRoleArn": role, "trustDirection": "Two-Way", "trustPassword": {"secretId": "s"}
    });
    assert_eq!(parse_request(&request).expect("valid").remote_role_arn.as_deref(), Some(role));
    let refused = |request: &serde_json::Value| match parse_request(request) {
        Err(WorkflowError::ValidationFailed(violations)) => violations.iter().map(ToString::to_string).collect::<Vec<_>>(),
        other => panic!("expected a refusal, got {other:?}"),
    };
    for bad in [
        "arn:aws:iam::2222:role/x",
        "arn:aws:iam::222222222222:user/x",
        "arn:aws:sts::222222222222:role/x",
        "role/x",
        "arn:aws:iam::222222222222:role/",
    ] {
        request["remoteRoleArn"] = serde_json::json!(bad);
        let violations = refused(&request);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(
            violations[0].starts_with("remoteRoleArn: must be an IAM role ARN") && violations[0].ends_with(&format!("(got \"{bad}\")")),
            "{violations:?}"
        );
    }
    request["remoteRoleArn"] = serde_json::json!(role);
    request.as_object_mut().expect("object").remove("remoteDirectoryId");
    assert_eq!(
        refused(&request),
        [format!("remoteRoleArn: is given only with remoteDirectoryId (it names the role in that directory's account) (got \"{role}\")")]
    );
}
