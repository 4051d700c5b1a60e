//! The operator's audit trail as the API shows it: entries and their filters.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::AuditAction;
use crate::audit::repo::{ActorFilter, AuditFilter, AuditRow};
use crate::domain::date::parse_date;
use crate::domain::email::EmailAddress;
use crate::error::{AppError, FieldError, FieldErrorCode, FieldErrors};
use crate::http::{PageQuery, Paging};

/// What an account's entries name as their actor once the account is deleted.
pub const DELETED_ACCOUNT: &str = "deleted-account";

/// Who did it: an account, or `{account_id: null, email: "deleted-account"}` for an
/// account deleted since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"account_id": "3f1c2b9e-8a47-4d2b-9c61-0e5d7a4b2f10", "email": "erika.mustermann@example.de"}))]
pub struct AuditActor {
    /// The account's id; `null` once the account is deleted.
    #[schema(example = "3f1c2b9e-8a47-4d2b-9c61-0e5d7a4b2f10")]
    pub account_id: Option<String>,
    /// The account's e-mail address as it is now; `deleted-account` once it is deleted.
    #[schema(example = "erika.mustermann@example.de")]
    pub email: String,
}

/// One entry of the audit trail: who did what to which record, when and from where.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
    "at": "2026-12-04T09:15:00Z",
    "action": "application.approved",
    "actor": {"account_id": "3f1c2b9e-8a47-4d2b-9c61-0e5d7a4b2f10", "email": "personal@musterfirma.de"},
    "subject_type": "application",
    "subject_id": "0193a1b2-0000-7e5f-8a9b-0c1d2e3f4a5b",
    "client_ip": "203.0.113.7",
    "request_id": "b3c1f0e2-7d4a-4b8e-9f21-6a5c3d2e1f00",
    "details": null
}))]
pub struct AuditEntryView {
    /// Opaque id of the entry (time-ordered).
    #[schema(example = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")]
    pub id: String,
    /// When it happened.
    #[schema(example = "2026-12-04T09:15:00Z")]
    pub at: DateTime<Utc>,
    /// What happened, e.g. `application.approved` (see the `action` filter for all).
    #[schema(example = "application.approved")]
    pub action: String,
    /// Who did it; `null` for the service itself or a caller without an account (a
    /// failed login of an unknown address).
    pub actor: Option<AuditActor>,
    /// The kind of record it concerns (`account`, `company`, `contract`, `customer`,
    /// `subscription`, `membership`, `customer_code`, `application`, `bulk_upload`,
    /// `price`, `statement`, `webhook`); `null` when it concerns no single record.
    #[schema(example = "application")]
    pub subject_type: Option<String>,
    /// The id of the record it concerns; `null` when none (or a deleted account).
    #[schema(example = "0193a1b2-0000-7e5f-8a9b-0c1d2e3f4a5b")]
    pub subject_id: Option<String>,
    /// The client's IP address (after `AUDIT_IP_RETENTION_DAYS` only its network: `/24`
    /// of IPv4, `/48` of IPv6); `null` when removed with a deleted account.
    #[schema(example = "203.0.113.7")]
    pub client_ip: Option<String>,
    /// The id of the request (its `X-Request-Id`), or `cli:<command>:…` for a
    /// command-line run.
    #[schema(example = "b3c1f0e2-7d4a-4b8e-9f21-6a5c3d2e1f00")]
    pub request_id: Option<String>,
    /// What the action recorded besides, e.g. the changed fields' names.
    #[schema(schema_with = details_schema)]
    pub details: Option<serde_json::Value>,
}

/// An entry's `details`: a JSON object whose fields depend on the action, or `null`.
fn details_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .description(Some(
            "What the action recorded besides, e.g. the changed fields' names.",
        ))
        .examples([serde_json::json!({"fields": ["street", "city"]})])
        .build()
}

impl AuditEntryView {
    /// The entry of `row`, its actor's e-mail address being `email` (`None`: the actor
    /// is no longer an account).
    pub fn new(row: AuditRow, email: Option<String>) -> Self {
        let actor = row.actor_id.map(|id| match email {
            Some(email) if id != DELETED_ACCOUNT => AuditActor {
                account_id: Some(id),
                email,
            },
            _ => AuditActor {
                account_id: None,
                email: DELETED_ACCOUNT.to_string(),
            },
        });
        AuditEntryView {
            subject_type: row
                .subject_id
                .as_ref()
                .and_then(|_| AuditAction::subject_type_of(&row.action))
                .map(str::to_string),
            id: row.id,
            at: row.occurred_at.and_utc(),
            action: row.action,
            actor,
            subject_id: row.subject_id,
            client_ip: row.client_ip,
            request_id: row.request_id,
            details: row
                .details
                .and_then(|details| serde_json::from_str(&details).ok()),
        }
    }
}

/// Filters of the audit trail; all optional, combined with "and"; an empty one is no
/// filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries of this actor: an account id, or an e-mail address (of an account that
    /// exists now).
    #[param(max_length = 320, example = "personal@musterfirma.de")]
    pub actor: Option<String>,
    /// Entries concerning this record (any id: account, customer, subscription, …).
    #[param(max_length = 320, example = "0193a1b2-0000-7e5f-8a9b-0c1d2e3f4a5b")]
    pub subject: Option<String>,
    /// Entries of this action (`invalid_choice` names them all otherwise).
    #[param(
        pattern = r"^ *([a-z_]+\.[a-z_]+)? *$",
        example = "application.approved"
    )]
    pub action: Option<String>,
    /// From this instant on, inclusive: an RFC 3339 timestamp, or a date (`YYYY-MM-DD`
    /// or `TT.MM.JJJJ`) meaning its start in Europe/Berlin.
    #[param(
        pattern = r"^ *([0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2}))?|[0-9]{2}\.[0-9]{2}\.[0-9]{4})? *$",
        example = "2026-12-01"
    )]
    pub from: Option<String>,
    /// Up to this instant, inclusive: an RFC 3339 timestamp, or a date meaning its whole
    /// day in Europe/Berlin. Not before `from` (`ends_before_start`).
    #[param(
        pattern = r"^ *([0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2}))?|[0-9]{2}\.[0-9]{2}\.[0-9]{4})? *$",
        example = "2026-12-04T23:59:59Z"
    )]
    pub to: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}

impl AuditQuery {
    /// The checked filter and paging, or every invalid parameter at once.
    pub fn parse(&self) -> Result<(AuditFilter, Paging), AppError> {
        let mut errors = FieldErrors::default();
        let paging = errors.take_all(self.page.paging())?;
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let action = given(&self.action).and_then(|action| {
            let known = AuditAction::names().contains(&action.as_str());
            if !known {
                errors.push(FieldError::new(
                    "/action",
                    FieldErrorCode::InvalidChoice {
                        allowed: AuditAction::names(),
                    },
                ));
            }
            known.then_some(action)
        });
        let from =
            given(&self.from).and_then(|raw| errors.take(instant(&raw, "/from", Bound::Start)));
        let to = given(&self.to).and_then(|raw| errors.take(instant(&raw, "/to", Bound::End)));
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            errors.push(FieldError::new("/to", FieldErrorCode::EndsBeforeStart));
        }
        let too_long = |value: Option<String>, pointer: &str, errors: &mut FieldErrors| {
            value.filter(|v| {
                let fits = v.chars().count() <= 320;
                if !fits {
                    errors.push(FieldError::new(
                        pointer,
                        FieldErrorCode::TooLong { max: 320 },
                    ));
                }
                fits
            })
        };
        let actor = too_long(given(&self.actor), "/actor", &mut errors).and_then(|actor| {
            if actor.contains('@') {
                errors
                    .take(EmailAddress::parse(&actor, "/actor"))
                    .map(|email| ActorFilter::Email(email.as_str().to_string()))
            } else {
                Some(ActorFilter::Account(actor))
            }
        });
        let subject = too_long(given(&self.subject), "/subject", &mut errors);
        errors.into_result()?;
        let filter = AuditFilter {
            actor,
            subject,
            action,
            from,
            to,
        };
        let paging =
            paging.ok_or_else(|| AppError::Internal("paging parsed without errors".into()))?;
        Ok((filter, paging))
    }
}

#[derive(Debug, Clone, Copy)]
enum Bound {
    Start,
    End,
}

/// An instant of a `from` or `to`: an RFC 3339 timestamp as given, or a date's first
/// (`Start`) or last (`End`) microsecond in Europe/Berlin.
fn instant(raw: &str, pointer: &str, bound: Bound) -> Result<NaiveDateTime, FieldError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.naive_utc());
    }
    let date: NaiveDate = parse_date(raw, pointer)?;
    Ok(match bound {
        Bound::Start => crate::clock::berlin_midnight_utc(date),
        Bound::End => {
            let next = date.succ_opt().unwrap_or(date);
            crate::clock::berlin_midnight_utc(next) - chrono::Duration::microseconds(1)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(from: &str, to: &str) -> AuditQuery {
        AuditQuery {
            actor: None,
            subject: None,
            action: None,
            from: Some(from.into()),
            to: Some(to.into()),
            page: PageQuery::default(),
        }
    }

    #[test]
    fn dates_cover_their_whole_day_in_berlin() {
        let (filter, _) = query("2026-12-04", "04.12.2026").parse().unwrap();
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        assert_eq!(filter.from, Some(at("2026-12-03 23:00:00")));
        assert_eq!(filter.to, Some(at("2026-12-04 22:59:59.999999")));
        let (summer, _) = query("2026-07-01T10:00:00+02:00", "2026-07-01")
            .parse()
            .unwrap();
        assert_eq!(summer.from, Some(at("2026-07-01 08:00:00")));
        assert_eq!(summer.to, Some(at("2026-07-01 21:59:59.999999")));
    }

    #[test]
    fn every_action_has_a_subject_type() {
        for name in AuditAction::names() {
            assert!(AuditAction::subject_type_of(name).is_some(), "{name}");
        }
    }
}
