//! Stand-ins for the provider APIs Tocsin calls, each following its provider's documented API
//! (endpoints, authentication, fields, answers, error bodies). The integration tests check what
//! Tocsin sent through them and script their answers; the benchmark uses them as providers that
//! answer as fast as the machine allows. Nothing here is part of a deployment.

pub mod ovh;
pub mod push;
pub mod smsmode;
pub mod twilio;
pub mod twilio_voice;
pub mod vonage;
