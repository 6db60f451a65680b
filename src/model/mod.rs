//! Pure domain types and validation: no I/O.
//!
//! Identifiers, contact details, slugs, SMS length rules, closed vocabularies, alert validation
//! and the subscriber CSV format. Everything here is synchronous and side-effect free, so the
//! API, the workers and the CLI check input the same way.

pub mod alert;
pub mod callback_tokens;
pub mod channel;
pub mod citizen_links;
pub mod communes;
pub mod cron;
pub mod email;
pub mod french;
/// The GSM-7 tables, shared with the SMS adapters.
pub use tocsin_providers::sms::gsm7 as gsm7_table;
pub mod ids;
pub mod import;
pub mod keys;
pub mod keywords;
pub mod local_time;
pub mod masked;
pub mod people;
pub mod phone;
pub mod public_id;
pub mod quiet_hours;
pub mod sealed;
pub mod siret;
pub mod slug;
pub mod sms_countries;
pub mod sms_text;
pub mod speech;
pub mod templates;
pub mod text;

pub use alert::{AlertDraft, FieldError, ValidAlert};
pub use callback_tokens::CallbackTokens;
pub use channel::{Channel, DeliveryStatus, Lane, Permission, Role, TenantKind, UnknownValueError};
pub use citizen_links::CitizenLinks;
pub use email::{EmailAddress, EmailError};
pub use ids::{
    AlertId, ApiKeyId, DeliveryId, DraftId, IdParseError, ScheduleId, SubscriberId, TemplateId,
    TenantId, TopicId, UserId,
};
pub use import::{ImportParse, ImportRow, RowError, parse_subscribers_csv};
pub use phone::{PhoneError, PhoneNumber};
pub use public_id::PublicIds;
pub use quiet_hours::QuietHours;
pub use slug::{Slug, SlugError};
pub use sms_countries::SmsCountries;
pub use sms_text::{
    MAX_SMS_SEGMENTS, SmsEncoding, SmsLength, SmsTextError, sms_length, validate_sms_text,
};
pub use text::TextError;
