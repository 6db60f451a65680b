//! The citizen-facing pages of a commune (`/c/{slug}`): HTML rendering, the colour check, and
//! the static files they use. No handler and no database here: the routes call these.

pub mod assets;
pub mod colour;
pub mod console;
pub mod logo;
pub mod pages;

pub use assets::{asset, asset_url, service_worker};
pub use colour::{Colour, check_brand_colour};
pub use pages::{
    AlertPage, Commune, CommunePage, Field, Form, FormAction, FormValues, MessagePage, Notice,
    PhoneStep, Topic, alert_page, commune_page, content_security_policy, manifest, message_page,
    not_found_page,
};
