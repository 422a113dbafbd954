//! What the workflow tells a requester: the notifier announces it, the status reader reads it back
//! from the execution history. The spellings are a contract: the state machine's `Finish` Choice
//! matches `rejected`, and result events and `GET /trust-requests/{id}` carry them.

use serde::{Deserialize, Serialize};

/// The outcome announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Announcement {
    /// The trust works: AWS verified it.
    Verified,
    /// A one-way incoming trust exists on the AWS side. AWS never verifies that direction, so this
    /// claims no verification: the on-premises administrator must create the outgoing side.
    Created,
    /// The requested trust already existed and works.
    AlreadyInPlace,
    /// The AWS side is done; the on-premises admin must configure theirs.
    AwaitingRemoteSide,
    /// The trust failed.
    Failed,
    /// Creation did not finish in time.
    TimedOut,
    /// The remote side was not configured within the window.
    RemoteSideTimedOut,
    /// The request was refused: the requester must change something.
    Rejected,
    /// A removal deleted the trust: it is gone.
    Removed,
    /// A removal found no trust for the domain: nothing was deleted, and nothing needed to be.
    AlreadyRemoved,
    /// A dry run passed every check: nothing was created or changed.
    Checked,
}

/// An SNS subject line: at most 100 printable ASCII characters (SNS refuses others), anything
/// else shown as `?`, cut with `...`.
pub fn sns_subject(text: &str) -> String {
    let clean: String = text.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect();
    if clean.len() <= 100 {
        clean
    } else {
        format!("{}...", &clean[..97])
    }
}

impl Announcement {
    /// The result event's `detail-type`.
    pub fn detail_type(self) -> &'static str {
        match self {
            Self::Verified => "Trust Verified",
            Self::Created => "Trust Created",
            Self::AlreadyInPlace => "Trust Already In Place",
            Self::AwaitingRemoteSide => "Trust Awaiting Remote Side",
            Self::Failed => "Trust Failed",
            Self::TimedOut => "Trust Timed Out",
            Self::RemoteSideTimedOut => "Trust Remote Side Timed Out",
            Self::Rejected => "Trust Request Rejected",
            Self::Removed => "Trust Removed",
            Self::AlreadyRemoved => "Trust Already Removed",
            Self::Checked => "Trust Request Checked",
        }
    }

    /// Whether the workflow ends in success.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Verified | Self::Created | Self::AlreadyInPlace | Self::Removed | Self::AlreadyRemoved | Self::Checked)
    }
}
