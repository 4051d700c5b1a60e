//! Bodies of webhook endpoints and their deliveries.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::{AsRefStr, EnumString};
use utoipa::ToSchema;

use crate::domain::text::parse_line;
use crate::error::{AppError, FieldError, FieldErrorCode, FieldErrors};
use crate::http::Patch;
use crate::webhooks::repo::{DeliveryRow, WebhookRow};

/// What a webhook reports.
#[derive(
    strum::VariantNames,
    strum::EnumIter,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    EnumString,
    AsRefStr,
)]
#[schema(example = "subscription.created")]
pub enum EventType {
    /// An employee ordered a ticket with the company's customer code.
    #[serde(rename = "application.submitted")]
    #[strum(serialize = "application.submitted")]
    ApplicationSubmitted,
    #[serde(rename = "application.approved")]
    #[strum(serialize = "application.approved")]
    ApplicationApproved,
    #[serde(rename = "application.rejected")]
    #[strum(serialize = "application.rejected")]
    ApplicationRejected,
    /// The employee withdrew the order.
    #[serde(rename = "application.withdrawn")]
    #[strum(serialize = "application.withdrawn")]
    ApplicationWithdrawn,
    /// A ticket under one of the company's contracts: approved, from a staff list, or
    /// loaded by the operator (`data.source`).
    #[serde(rename = "subscription.created")]
    #[strum(serialize = "subscription.created")]
    SubscriptionCreated,
    /// A ticket cancelled (Kündigung), also one cancelled before it started.
    #[serde(rename = "subscription.cancelled")]
    #[strum(serialize = "subscription.cancelled")]
    SubscriptionCancelled,
    /// A staff list applied (not a dry run).
    #[serde(rename = "bulk_upload.completed")]
    #[strum(serialize = "bulk_upload.completed")]
    BulkUploadCompleted,
    /// A contract's monthly statement was frozen.
    #[serde(rename = "statement.finalized")]
    #[strum(serialize = "statement.finalized")]
    StatementFinalized,
    /// A test event sent on request to any endpoint, whatever its events.
    #[serde(rename = "ping")]
    #[strum(serialize = "ping")]
    Ping,
}

/// A delivery's state.
#[derive(
    strum::VariantNames,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    EnumString,
    AsRefStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schema(example = "delivered")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Every attempt of the retry schedule failed.
    Failed,
}

/// A company's webhook endpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a8-4b5c-7d6e-8f70-8192a3b4c5d6",
    "company_id": "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b",
    "url": "https://hr.musterfirma.de/hooks/jobticket",
    "description": "Personio",
    "events": ["subscription.created", "subscription.cancelled"],
    "enabled": true,
    "failing_since": null,
    "disabled_at": null,
    "created_at": "2026-11-02T08:00:00Z",
    "updated_at": "2026-11-02T08:00:00Z"
}))]
pub struct Webhook {
    /// Opaque id of the endpoint.
    #[schema(example = "0190f3a8-4b5c-7d6e-8f70-8192a3b4c5d6")]
    pub id: String,
    /// The company the endpoint belongs to.
    #[schema(example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")]
    pub company_id: String,
    /// Where events are sent (`POST`, JSON, signed).
    #[schema(example = "https://hr.musterfirma.de/hooks/jobticket")]
    pub url: String,
    /// What the endpoint is for.
    #[schema(example = "Personio")]
    pub description: String,
    /// The events sent to it (`ping` always is).
    pub events: Vec<EventType>,
    /// Whether events are sent. An endpoint whose deliveries all failed for 5 days is
    /// disabled (and the company's admins e-mailed); a `PATCH` with `enabled: true`
    /// turns it on again.
    #[schema(example = true)]
    pub enabled: bool,
    /// Since when every attempt failed; `null` after a success.
    #[schema(example = json!(null))]
    pub failing_since: Option<DateTime<Utc>>,
    /// When it was disabled for failing; `null` while enabled.
    #[schema(example = json!(null))]
    pub disabled_at: Option<DateTime<Utc>>,
    /// When it was registered.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = AppError;

    fn try_from(row: WebhookRow) -> Result<Self, AppError> {
        Ok(Webhook {
            events: row.event_types()?,
            id: row.id,
            company_id: row.company_id,
            url: row.url,
            description: row.description,
            enabled: row.enabled,
            failing_since: row.failing_since.map(|at| at.and_utc()),
            disabled_at: row.disabled_at.map(|at| at.and_utc()),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        })
    }
}

/// A new endpoint, or one whose secret was rotated: the only answers that show the
/// signing secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a8-4b5c-7d6e-8f70-8192a3b4c5d6",
    "company_id": "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b",
    "url": "https://hr.musterfirma.de/hooks/jobticket",
    "description": "Personio",
    "events": ["subscription.created", "subscription.cancelled"],
    "enabled": true,
    "failing_since": null,
    "disabled_at": null,
    "created_at": "2026-11-02T08:00:00Z",
    "updated_at": "2026-11-02T08:00:00Z",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYq="
}))]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The signing secret (`whsec_` and the base64 of 32 random bytes), shown only in
    /// this answer: keep it in the receiving system.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYq=")]
    pub secret: String,
}

/// A new webhook endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://hr.musterfirma.de/hooks/jobticket",
    "events": ["subscription.created", "subscription.cancelled"],
    "description": "Personio"
}))]
pub struct NewWebhookRequest {
    /// An `https` URL (at most 2,000 characters) whose host resolves to public addresses
    /// only (`422 webhook_url_not_allowed` otherwise).
    #[schema(value_type = String, required = true, max_length = 2000, example = "https://hr.musterfirma.de/hooks/jobticket")]
    pub url: Option<String>,
    /// The events to send, at least one (`ping` is always sent on request).
    #[schema(value_type = Vec<SubscribableEvent>, required = true, min_items = 1)]
    pub events: Option<Vec<String>>,
    /// What the endpoint is for, up to 200 characters.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = "Personio")]
    pub description: Option<String>,
}

/// Changes to a webhook endpoint, as a JSON merge patch.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"events": ["subscription.created"], "enabled": true}))]
pub struct UpdateWebhookRequest {
    /// A new `https` URL, checked like at registration.
    #[serde(default)]
    #[schema(value_type = String, max_length = 2000, example = "https://hr.musterfirma.de/hooks/jobticket")]
    pub url: Patch<String>,
    /// The events to send, at least one.
    #[serde(default)]
    #[schema(value_type = Vec<SubscribableEvent>, min_items = 1)]
    pub events: Patch<Vec<String>>,
    /// What the endpoint is for.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = "Personio")]
    pub description: Patch<String>,
    /// `true` turns a disabled endpoint on again; `false` pauses it.
    #[serde(default)]
    #[schema(value_type = bool, example = true)]
    pub enabled: Patch<bool>,
}

/// The checked fields of an endpoint.
#[derive(Debug, Clone)]
pub struct WebhookFields {
    pub url: String,
    pub events: Vec<EventType>,
    pub description: String,
    pub enabled: bool,
}

/// The event list: at least one known event, `ping` not among them (it is always
/// sent), no duplicates.
fn parse_events(raw: Vec<String>, errors: &mut FieldErrors) -> Option<Vec<EventType>> {
    if raw.is_empty() {
        errors.push(FieldError::new("/events", FieldErrorCode::Required));
        return None;
    }
    let mut events = Vec::new();
    let mut valid = true;
    for (index, name) in raw.iter().enumerate() {
        let pointer = format!("/events/{index}");
        match crate::domain::choice::parse_given::<EventType>(name, &pointer) {
            Ok(EventType::Ping) | Err(_) => {
                errors.push(FieldError::new(
                    pointer,
                    FieldErrorCode::InvalidChoice {
                        allowed: SUBSCRIBABLE,
                    },
                ));
                valid = false;
            }
            Ok(event) if !events.contains(&event) => events.push(event),
            Ok(_) => {}
        }
    }
    valid.then_some(events)
}

/// The events an endpoint can ask for: every event but `ping`, which every endpoint gets
/// on request. Only the request schemas name it; the server parses [`EventType`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[schema(example = "subscription.created")]
pub enum SubscribableEvent {
    #[serde(rename = "application.submitted")]
    ApplicationSubmitted,
    #[serde(rename = "application.approved")]
    ApplicationApproved,
    #[serde(rename = "application.rejected")]
    ApplicationRejected,
    #[serde(rename = "application.withdrawn")]
    ApplicationWithdrawn,
    #[serde(rename = "subscription.created")]
    SubscriptionCreated,
    #[serde(rename = "subscription.cancelled")]
    SubscriptionCancelled,
    #[serde(rename = "bulk_upload.completed")]
    BulkUploadCompleted,
    #[serde(rename = "statement.finalized")]
    StatementFinalized,
}

/// The events an endpoint can ask for, as the API spells them.
pub const SUBSCRIBABLE: &[&str] = &[
    "application.submitted",
    "application.approved",
    "application.rejected",
    "application.withdrawn",
    "subscription.created",
    "subscription.cancelled",
    "bulk_upload.completed",
    "statement.finalized",
];

impl UpdateWebhookRequest {
    /// The endpoint's fields after this patch of `current` (`None`: a new endpoint);
    /// the URL's target is the caller's check.
    pub fn merged_onto(self, current: Option<&WebhookFields>) -> Result<WebhookFields, AppError> {
        let mut errors = FieldErrors::default();
        let url = self
            .url
            .required(current.map(|c| c.url.clone()), "/url", &mut errors, |raw| {
                let url = raw.trim().to_string();
                match url.chars().count() {
                    0 => Err(FieldError::new("/url", FieldErrorCode::Required)),
                    n if n > 2000 => Err(FieldError::new(
                        "/url",
                        FieldErrorCode::TooLong { max: 2000 },
                    )),
                    _ => Ok(url),
                }
            });
        let events = match self.events {
            Patch::Absent if current.is_some() => current.map(|c| c.events.clone()),
            Patch::Absent | Patch::Null => {
                errors.push(FieldError::new("/events", FieldErrorCode::Required));
                None
            }
            Patch::Value(raw) => parse_events(raw, &mut errors),
        };
        let description = self
            .description
            .optional(
                current.map(|c| c.description.clone()),
                &mut errors,
                |raw| match raw.trim().is_empty() {
                    true => Ok(String::new()),
                    false => parse_line(&raw, 200, "/description"),
                },
            )
            .map(Option::unwrap_or_default);
        let enabled = match self.enabled {
            Patch::Absent => current.is_none_or(|c| c.enabled),
            Patch::Null => {
                errors.push(FieldError::new("/enabled", FieldErrorCode::InvalidType));
                false
            }
            Patch::Value(enabled) => enabled,
        };
        errors.into_result()?;
        match (url, events, description) {
            (Some(url), Some(events), Some(description)) => Ok(WebhookFields {
                url,
                events,
                description,
                enabled,
            }),
            _ => Err(AppError::Internal("webhook parsed without errors".into())),
        }
    }
}

impl NewWebhookRequest {
    pub fn parse(self) -> Result<WebhookFields, AppError> {
        UpdateWebhookRequest {
            url: self.url.into(),
            events: self.events.into(),
            description: self.description.into(),
            enabled: Patch::Absent,
        }
        .merged_onto(None)
    }
}

/// One event sent (or to be sent) to an endpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a9-5c6d-7e8f-9a01-b2c3d4e5f607",
    "message_id": "msg_0190f3a95c6d7e8f9a01b2c3d4e5f607",
    "event_type": "subscription.created",
    "webhook_id": "0190f3a8-4b5c-7d6e-8f70-8192a3b4c5d6",
    "status": "delivered",
    "attempts": 1,
    "last_status_code": 200,
    "last_attempt_at": "2026-11-02T08:00:01Z",
    "next_attempt_at": null,
    "created_at": "2026-11-02T08:00:00Z"
}))]
pub struct Delivery {
    /// Opaque id of the delivery.
    #[schema(example = "0190f3a9-5c6d-7e8f-9a01-b2c3d4e5f607")]
    pub id: String,
    /// The `webhook-id` header: the same on every attempt and redelivery, so the receiver
    /// can drop duplicates.
    #[schema(example = "msg_0190f3a95c6d7e8f9a01b2c3d4e5f607")]
    pub message_id: String,
    /// The event.
    pub event_type: EventType,
    /// The endpoint.
    #[schema(example = "0190f3a8-4b5c-7d6e-8f70-8192a3b4c5d6")]
    pub webhook_id: String,
    /// `pending`, `delivered` or `failed`.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    #[schema(example = 1)]
    pub attempts: i32,
    /// The receiver's HTTP status at the last attempt; `null` before one, or when it
    /// could not be reached.
    #[schema(example = 200)]
    pub last_status_code: Option<i32>,
    /// When the last attempt was made.
    #[schema(example = "2026-11-02T08:00:01Z")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due; `null` once delivered or failed.
    #[schema(example = json!(null))]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the event happened.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub created_at: DateTime<Utc>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = AppError;

    fn try_from(row: DeliveryRow) -> Result<Self, AppError> {
        let status: DeliveryStatus = row
            .status
            .parse()
            .map_err(|_| AppError::Internal(format!("stored delivery status {}", row.status)))?;
        let utc = |at: NaiveDateTime| at.and_utc();
        Ok(Delivery {
            event_type: row
                .event_type
                .parse()
                .map_err(|_| AppError::Internal(format!("stored event {}", row.event_type)))?,
            next_attempt_at: (status == DeliveryStatus::Pending).then(|| utc(row.next_attempt_at)),
            status,
            id: row.id,
            message_id: row.message_id,
            webhook_id: row.webhook_id,
            attempts: row.attempts,
            last_status_code: row.last_status_code,
            last_attempt_at: row.last_attempt_at.map(utc),
            created_at: utc(row.created_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_schema_names_exactly_the_subscribable_events() {
        for name in SUBSCRIBABLE {
            let quoted = format!("\"{name}\"");
            assert!(
                serde_json::from_str::<SubscribableEvent>(&quoted).is_ok(),
                "{name}"
            );
            assert!(name.parse::<EventType>().is_ok(), "{name}");
        }
        assert!(serde_json::from_str::<SubscribableEvent>("\"ping\"").is_err());
        assert_eq!(
            SUBSCRIBABLE.len() + 1,
            <EventType as strum::VariantNames>::VARIANTS.len()
        );
    }
}
