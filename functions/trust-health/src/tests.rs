use trustflow_aws::fakes::{sample_directory, FakeAws};
use trustflow_domain::health::HEALTH_TAG_PREFIX;

use super::*;

const DIR: &str = "d-1234567890";

fn settings(reverify: bool) -> Settings {
    Settings {
        topic_arn: "arn:aws:sns:us-east-1:123456789012:trustflow".to_owned(),
        event_bus: "trustflow".to_owned(),
        event_source: "trustflow".to_owned(),
        reverify,
    }
}

fn account() -> FakeAws {
    let aws = FakeAws::default();
    aws.directories.borrow_mut().push(sample_directory(DIR));
    aws
}

async fn check(aws: &FakeAws, reverify: bool) -> Vec<DirectoryHealth> {
    let input = HealthInput { directory_ids: vec![DIR.to_owned()] };
    check_health(&input, &settings(reverify), aws, aws, OffsetDateTime::UNIX_EPOCH).await.expect("checked")
}

#[tokio::test]
async fn a_verified_trust_that_breaks_is_announced_once_and_recorded_on_the_directory() {
    let aws = account();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    assert!(check(&aws, false).await[0].changes.is_empty(), "the first check records, says nothing");
    assert_eq!(aws.tags.borrow()[DIR][&format!("{HEALTH_TAG_PREFIX}{id}")], "Verified");
    aws.set_state(&id, "VerifyFailed", "The specified domain name does not exist or could not be contacted.");
    let found = check(&aws, false).await;
    assert_eq!(found[0].changes.len(), 1);
    assert_eq!(aws.events.borrow().len(), 1);
    let event = aws.events.borrow()[0].clone();
    assert_eq!(event.detail_type, "Trust Health Changed");
    let detail: serde_json::Value = serde_json::from_str(&event.detail).expect("json");
    assert_eq!(
        (detail["previousState"].as_str(), detail["trustState"].as_str(), detail["healthy"].as_bool()),
        (Some("Verified"), Some("VerifyFailed"), Some(false))
    );
    assert_eq!(detail["remedy"]["code"], "domain-unreachable");
    assert!(aws.published.borrow()[0].message.contains("stopped working"));
    assert!(check(&aws, false).await[0].changes.is_empty(), "reported once");
    assert_eq!(aws.events.borrow().len(), 1);
}

#[tokio::test]
async fn a_failed_announcement_records_nothing_so_the_next_check_announces_it() {
    let aws = account();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    check(&aws, false).await;
    aws.set_state(&id, "Failed", "x");
    aws.failing.borrow_mut().insert("Publish".to_owned(), 1);
    let input = HealthInput { directory_ids: vec![DIR.to_owned()] };
    assert!(check_health(&input, &settings(false), &aws, &aws, OffsetDateTime::UNIX_EPOCH).await.is_err());
    assert_eq!(check(&aws, false).await[0].changes.len(), 1);
}

#[tokio::test]
async fn reverification_is_asked_only_when_allowed_and_only_for_directions_aws_verifies() {
    let aws = account();
    aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    aws.add_trust(DIR, "in.example.com", "One-Way: Incoming", "Created", "");
    assert!(check(&aws, false).await[0].reverified.is_empty());
    assert_eq!(aws.count("VerifyTrust"), 0);
    assert_eq!(check(&aws, true).await[0].reverified.len(), 1);
    assert_eq!(aws.count("VerifyTrust"), 1);
}

#[tokio::test]
async fn an_unknown_or_malformed_directory_is_an_error_naming_it() {
    let aws = account();
    for ids in [vec!["d-0000000000".to_owned()], vec!["not-a-directory".to_owned()]] {
        let error = check_health(&HealthInput { directory_ids: ids.clone() }, &settings(false), &aws, &aws, OffsetDateTime::UNIX_EPOCH)
            .await
            .expect_err("refused");
        assert!(error.to_string().contains(&ids[0]), "{error}");
    }
}
