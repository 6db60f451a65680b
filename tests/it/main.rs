//! Integration tests: the real daemon against the real PostgreSQL and RabbitMQ, a real SMTP
//! server, and a faithful smsmode stand-in. Each test has its own database and queue names.

mod support;

/// The audit log: every action recorded, chained, append-only, verified.
mod audit;
/// API keys: scoped to one tenant and one role; missing, wrong and revoked keys are refused.
mod auth;
/// Bad input gets a clear error and loses nothing.
mod bad_input;
/// One bad row never stops an instance: corrupt provider answers, refused writes, fenced
/// outcomes, outside text cleaned before it is stored.
mod bad_rows;
/// The benchmark, on a small commune.
mod bench;
/// RabbitMQ loses its data mid-alert: the daemon declares its topology again, nothing is lost.
mod broker_loss;
/// The citizens' page and the mairie's console in headless Chromium: as citizens and a mairie use
/// them, with an accessibility audit (axe-core) of every page and error state.
mod browser;
/// Citizens' page and links: e-mail double opt-in, one-click unsubscribe, erasure (RGPD).
mod citizens;
/// The `tocsin` command line, run as a user would.
mod cli;
/// The mairie's console over HTTP: invitations, passwords, TOTP, sessions, CSRF, roles, sending
/// and following an alert.
mod console;
/// A crashed instance loses nothing; what it had in flight may be sent twice, no more.
mod crash;
/// Unreadable queue messages go to the dead-letter queue; the daemon keeps running.
mod dead_letter;
/// What deploy/ ships is true of this binary: completions, man pages, alerting rules, dashboard.
mod deploy_files;
/// Nothing the public sends makes Tocsin reach this machine or the host's networks.
mod egress;
/// The first minute: a service that does not answer is named, with the command that starts it.
mod first_minute;
/// Toll fraud through the public routes: caps, countries, client addresses, cross-site posts.
mod fraud;
/// Retries, expiry, leases, the sweeper and clean shutdowns: every recipient reached, nobody
/// twice because of our own failure.
mod guarantees;
/// What a hostile review found, each finding reproduced: one tenant cannot stall another, a
/// reused idempotency key is refused, personal data and ids stay private, errors have one shape.
mod hardening;
/// The delivery ledger: tallies agree with the rows; status changes leave indexes alone.
mod ledger;
/// An alert sent by mistake is stopped under way: nothing more of it leaves.
mod mistakes;
/// A broker outage delays an alert; it never loses it.
mod outage;
/// Citizens join and leave by SMS; a STOP holds.
mod phone;
/// A mayor's alert reaches every subscriber by SMS and e-mail, and the report counts right.
mod pipeline;
/// Provider refusals are recorded as failures with their reason.
mod provider_failures;
/// Browsers subscribe and get alerts by Web Push, encrypted and signed; gone ones are forgotten.
mod push;
/// Provider accounts' rates hold across instances; urgent alerts go first.
mod rate_limits;
/// Providers' delivery reports move deliveries; forged ones change nothing.
mod receipts;
/// Two instances share the work without sending anything twice.
mod scale_out;
/// Schedules fire on the local clock exactly once, across instances, outages and DST nights;
/// timed alerts wait for their hour and routine ones for the end of quiet hours.
mod schedules;
/// A new server secret is rolled in without breaking what was made under the old one, which
/// then ends when retired.
mod secrets;
/// Slow and numerous clients cannot take the daemon down; the API keeps a reserve.
mod slow_clients;
/// The tenant tree: a role on a node holds on its subtree and nowhere else.
mod territory;
/// Upgrades: a rolling restart across the next version's migration loses and doubles nothing.
mod upgrade;
/// Voice calls to fixed lines, the French script, pressing 1 to confirm.
mod voice;
/// The second voice provider, Vonage: the NCCO with the call, signed JSON events.
mod vonage;
