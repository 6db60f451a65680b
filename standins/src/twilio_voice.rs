//! A stand-in for Twilio Programmable Voice's `POST /2010-04-01/Accounts/{AccountSid}/Calls.json`
//! on the same server, account and authentication as [`TwilioStandin`]'s Messages, following
//! reference/voice.md ("Twilio Programmable Voice") and sms-providers.md §2 (auth, error bodies,
//! `X-Twilio-Signature`). It records each call it accepts, answers the Call resource (201,
//! `queued`), then plays a scripted callee in a background task, tens of milliseconds a step:
//! signed status callbacks, the TwiML fetch, the `<Gather>` answer, what was said and how long.
//!
//! Where the reference is silent we do what Twilio documents, as we read it (unconfirmed):
//! - Codes: 21201 no `To`, 21211 `To` not E.164, 21213 no `From`, 21210 `From` not E.164 (Twilio
//!   documents 21210 as "not verified" and may answer 21212 for a malformed number), 21205 neither
//!   or both of `Url` and `Twiml`, or a bad `Url`, 21209 bad `Method`/`StatusCallbackMethod`,
//!   21609 bad `StatusCallback`, 21626 bad `StatusCallbackEvent`, 21208 bad `Timeout`, 21234 bad
//!   `MachineDetection`. A body that is not a form has no `To` (21201).
//! - `Timeout` is a positive integer; above 600 (Twilio's documented maximum) it is capped.
//! - The `initiated` event carries `CallStatus=initiated`, as Twilio sends it (twilio-java#321),
//!   `answered` carries `in-progress`; `completed` is sent for every final status.
//! - `AsyncAmd` is ignored: detection is synchronous, its result (`AnsweredBy`) comes with the
//!   TwiML request and the final callback, and only when the call was answered.
//! - A TwiML request that fails (no answer, not 2xx) ends the call `failed` with `ErrorCode`
//!   11200, an unparsable document (or no `<Response>` root) with 12100, an action or redirect
//!   URL that cannot be resolved with 11100. An empty 2xx answer (e.g. 204) ends the call
//!   normally: nothing more to play.
//!
//! Stricter than Twilio, where our adapter promises more: `To` and `From` in E.164 only (no
//! `client:` or `sip:` addresses). Known limits: no `ApplicationSid`, no `Fallback*`, no
//! `actionOnEmptyResult`, no check of `voice`/`language` pairs, `loop="0"` counts once.

mod callee;
mod create;
mod twiml;

pub(crate) use create::create_call;

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use crate::twilio::{TwilioStandin, plus, post_signed};

/// Who answers a number, and how ([`TwilioStandin::script_callee`]).
///
/// `CallDuration` of an answered call is the time its TwiML takes to play, estimated: each
/// `<Say>` at 150 words a minute (times its `loop`), each `<Pause>` its `length` (default 1 s),
/// and each `<Gather>` left without a key its `timeout` (default 5 s); rounded up, at least 1 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callee {
    /// A person: listens, presses this key at the first `<Gather>` that takes DTMF (then Twilio
    /// posts `Digits` to its `action` and plays what that answers), and stays to the end. `None`:
    /// listens to everything and presses nothing, so Twilio goes on after the `<Gather>`.
    AnswersAndPresses(Option<char>),
    /// A person who hangs up this long after answering, mid-message, pressing nothing; this is
    /// the `CallDuration`.
    HangsUpAfter(Duration),
    /// Voicemail: `AnsweredBy` is `machine_end_beep` with `MachineDetection=DetectMessageEnd`,
    /// `machine_start` with `Enable`; it takes the whole TwiML (it records it), pressing nothing.
    AnsweringMachine,
    /// Rings until `Timeout`, then `no-answer`; no TwiML is fetched.
    NoAnswer,
    /// `busy` at once.
    Busy,
    /// `failed`: a number that cannot be reached.
    Fails,
}

impl Default for Callee {
    fn default() -> Self {
        Callee::AnswersAndPresses(Some('1'))
    }
}

/// `MachineDetection` (answering machine detection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineDetection {
    /// Answers as soon as a machine is recognised: `AnsweredBy=machine_start`.
    Enable,
    /// Waits for the end of the greeting: `AnsweredBy=machine_end_beep`.
    DetectMessageEnd,
}

/// A `StatusCallbackEvent` a call subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusEvent {
    Initiated,
    Ringing,
    Answered,
    Completed,
}

impl StatusEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusEvent::Initiated => "initiated",
            StatusEvent::Ringing => "ringing",
            StatusEvent::Answered => "answered",
            StatusEvent::Completed => "completed",
        }
    }

    fn parse(name: &str) -> Option<StatusEvent> {
        [
            StatusEvent::Initiated,
            StatusEvent::Ringing,
            StatusEvent::Answered,
            StatusEvent::Completed,
        ]
        .into_iter()
        .find(|e| e.as_str() == name)
    }
}

/// A call's `CallStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    Queued,
    Initiated,
    Ringing,
    InProgress,
    Completed,
    Busy,
    Failed,
    NoAnswer,
    Canceled,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Initiated => "initiated",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "in-progress",
            CallStatus::Completed => "completed",
            CallStatus::Busy => "busy",
            CallStatus::Failed => "failed",
            CallStatus::NoAnswer => "no-answer",
            CallStatus::Canceled => "canceled",
        }
    }

    /// The call is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CallStatus::Completed
                | CallStatus::Busy
                | CallStatus::Failed
                | CallStatus::NoAnswer
                | CallStatus::Canceled
        )
    }
}

/// One call the stand-in accepted (answered 201).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedCall {
    /// The account it was placed on (the path's Account SID).
    pub account_sid: String,
    /// `To`, as sent (`+33612345678`).
    pub to: String,
    /// `From`.
    pub from: String,
    /// `Url`, when the TwiML is fetched.
    pub url: Option<String>,
    /// `Twiml`, when the TwiML came inline.
    pub twiml: Option<String>,
    /// `Method` for `Url`: `GET` or `POST` (default).
    pub method: String,
    /// `StatusCallback`, when set.
    pub status_callback: Option<String>,
    /// `StatusCallbackMethod`: `GET` or `POST` (default).
    pub status_callback_method: String,
    /// `StatusCallbackEvent`, sorted, without repeats; `[Completed]` when not given.
    pub events: Vec<StatusEvent>,
    /// `Timeout`: ring seconds (default 60).
    pub timeout: u32,
    /// `MachineDetection`, when set.
    pub machine_detection: Option<MachineDetection>,
    /// The `sid` (`CA…`) the stand-in answered with.
    pub sid: String,
    /// When the stand-in took it.
    pub at: Instant,
    /// When its callee starts playing: `at`, or later when the call was queued behind the rate.
    pub started_at: Instant,
}

/// A `<Say>` that was played, with the attributes Twilio reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    /// Its text: SSML tags left out, runs of XML white space (not no-break spaces) made one space.
    pub text: String,
    /// `language`, as written; `None` is Twilio's default, `en-US`.
    pub language: Option<String>,
    /// `voice`, as written.
    pub voice: Option<String>,
    /// `loop` (default 1; 0 means "until hang-up").
    pub loops: u32,
    /// Nested in a `<Gather>`.
    pub in_gather: bool,
}

impl Said {
    /// Read in French (`language="fr-FR"`).
    pub fn is_french(&self) -> bool {
        self.language.as_deref() == Some("fr-FR")
    }
}

/// A `<Gather>` that was played, its attributes as written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GatherVerb {
    pub input: Option<String>,
    pub num_digits: Option<String>,
    pub timeout: Option<String>,
    pub action: Option<String>,
    pub method: Option<String>,
    pub finish_on_key: Option<String>,
}

/// What a call went through so far, as its callee heard it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayedCall {
    pub sid: String,
    pub to: String,
    pub callee: Callee,
    /// The latest status.
    pub status: CallStatus,
    /// `AnsweredBy` (`human`, `machine_start`, `machine_end_beep`) when detection was asked and
    /// the call answered.
    pub answered_by: Option<String>,
    /// `CallDuration` in seconds, once over.
    pub duration: Option<u32>,
    /// `ErrorCode` of a call that went wrong (12100, 11200, 11100).
    pub error_code: Option<u32>,
    /// The TwiML documents played, by URL (`inline` for `Twiml`).
    pub documents: Vec<String>,
    /// Every verb run, by name, in order (`Gather`, `Say`, `Hangup` …; nested ones excluded).
    pub verbs: Vec<String>,
    /// Every `<Say>` played, nested ones included, in order.
    pub said: Vec<Said>,
    /// Every `<Gather>` played.
    pub gathers: Vec<GatherVerb>,
    /// The `Digits` posted to a `<Gather>`'s action.
    pub digits: Option<String>,
    /// When it ended.
    pub ended_at: Option<Instant>,
}

/// Which request of a call a [`CallEvent`] was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEventKind {
    /// A status callback (`CallStatus` in its parameters).
    Status,
    /// The TwiML request to `Url`.
    Twiml,
    /// A `<Gather>` posting to its action.
    Gather,
    /// A `<Redirect>`.
    Redirect,
}

/// One request the stand-in made to Tocsin for a call, with what Tocsin answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    /// The call's `CallSid`.
    pub sid: String,
    pub kind: CallEventKind,
    /// `GET` or `POST`.
    pub method: String,
    /// The URL Twilio was given (and signed), before [`TwilioStandin::route_public_url`] and, for
    /// `GET`, without the parameters.
    pub url: String,
    /// The parameters, in the order sent.
    pub params: Vec<(String, String)>,
    /// The HTTP status Tocsin answered; `None` when it could not be reached.
    pub answered_status: Option<u16>,
    pub at: Instant,
}

impl CallEvent {
    /// The value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        let found = self.params.iter().find(|(n, _)| n == name);
        found.map(|(_, v)| v.as_str())
    }
}

/// See [`Voice::in_flight`].
const MAX_REQUESTS_IN_FLIGHT: usize = 256;

/// The voice half of the account's state, inside the stand-in's `Inner`.
pub(crate) struct Voice {
    /// Whether calls, what they went through and their events are kept (not when counting).
    record: bool,
    /// When each call since the last reset was accepted, in arrival order.
    call_times: Mutex<Vec<SystemTime>>,
    /// Calls over since the last reset.
    ended: AtomicUsize,
    calls: Mutex<Vec<ReceivedCall>>,
    callees: Mutex<HashMap<String, Callee>>,
    default_callee: Mutex<Callee>,
    played: Mutex<Vec<PlayedCall>>,
    events: Mutex<Vec<CallEvent>>,
    pacing: Mutex<Pacing>,
    /// How long calls ring before their callee answers or gives up; `None`: a step.
    ring_time: Mutex<Option<Duration>>,
    /// (public prefix, local prefix) pairs: where to send what was addressed to a public name.
    routes: Mutex<Vec<(String, String)>>,
    client: reqwest::Client,
    /// Requests to Tocsin in flight at once, all calls together: Twilio's senders are many but
    /// finite, and a stand-in opening one connection per waiting request would run out of
    /// file descriptors when thousands of calls are answered at once.
    in_flight: tokio::sync::Semaphore,
}

#[derive(Default)]
struct Pacing {
    per_second: Option<f64>,
    last_start: Option<Instant>,
}

impl Voice {
    pub(crate) fn new(record: bool) -> Voice {
        Voice {
            record,
            call_times: Mutex::new(Vec::new()),
            ended: AtomicUsize::new(0),
            calls: Mutex::new(Vec::new()),
            callees: Mutex::new(HashMap::new()),
            default_callee: Mutex::new(Callee::default()),
            played: Mutex::new(Vec::new()),
            events: Mutex::new(Vec::new()),
            pacing: Mutex::new(Pacing::default()),
            ring_time: Mutex::new(None),
            routes: Mutex::new(Vec::new()),
            // Twilio gives a TwiML request 15 s by default.
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("reqwest client"),
            in_flight: tokio::sync::Semaphore::new(MAX_REQUESTS_IN_FLIGHT),
        }
    }

    /// When a call taken `now` starts: at once, or 1/cps after the previous one's start.
    fn schedule(&self, now: Instant) -> Instant {
        let mut pacing = self.pacing.lock().unwrap();
        let start = match (pacing.per_second, pacing.last_start) {
            (Some(cps), Some(last)) => now.max(last + Duration::from_secs_f64(1.0 / cps)),
            _ => now,
        };
        pacing.last_start = Some(start);
        start
    }

    /// Where a request to `public` goes.
    fn local_url(&self, public: &str) -> String {
        let routes = self.routes.lock().unwrap();
        for (from, to) in routes.iter() {
            if let Some(rest) = public.strip_prefix(from.as_str()) {
                return format!("{to}{rest}");
            }
        }
        public.to_owned()
    }

    fn update(&self, sid: &str, change: impl FnOnce(&mut PlayedCall)) {
        let mut played = self.played.lock().unwrap();
        if let Some(call) = played.iter_mut().rev().find(|c| c.sid == sid) {
            change(call);
        }
    }

    fn record(&self, event: CallEvent) {
        if self.record {
            self.events.lock().unwrap().push(event);
        }
    }

    /// A call was accepted: timed, and kept when recording.
    fn accepted(&self, call: &ReceivedCall, played: PlayedCall) {
        self.call_times.lock().unwrap().push(SystemTime::now());
        if self.record {
            self.calls.lock().unwrap().push(call.clone());
            self.played.lock().unwrap().push(played);
        }
    }
}

/// The voice API of the stand-in.
impl TwilioStandin {
    /// Calls to `to` (`+33612345678`; a missing `+` is added) are answered by `callee`.
    pub fn script_callee(&self, to: &str, callee: Callee) {
        let mut callees = self.inner().voice.callees.lock().unwrap();
        callees.insert(plus(to), callee);
    }

    /// Numbers not scripted are answered by `callee` (at first, `AnswersAndPresses(Some('1'))`).
    pub fn set_default_callee(&self, callee: Callee) {
        *self.inner().voice.default_callee.lock().unwrap() = callee;
    }

    /// `Some(cps)`: like the account's calls-per-second setting (Twilio's default is 1), each call
    /// starts no earlier than 1/cps after the previous one's start; calls over it are queued, not
    /// refused, and the Call resource says for how long (`queue_time`, ms). `None`: no limit.
    pub fn set_calls_per_second(&self, cps: Option<f64>) {
        assert!(
            cps.is_none_or(|cps| cps > 0.0 && cps.is_finite()),
            "set_calls_per_second: {cps:?} is not a rate"
        );
        self.inner().voice.pacing.lock().unwrap().per_second = cps;
    }

    /// Calls from now on ring this long before their callee answers (or, not answering, before
    /// `no-answer`): at first a step of tens of milliseconds, never a real call's pace.
    pub fn set_ring_time(&self, ring: Duration) {
        *self.inner().voice.ring_time.lock().unwrap() = Some(ring);
    }

    /// Requests to URLs under `public_prefix` (`https://alertes.example.fr`, the name Tocsin
    /// gives Twilio) go to `local_prefix` (where the daemon listens) instead, still signed over the
    /// public URL, as when Tocsin sits behind a proxy.
    pub fn route_public_url(&self, public_prefix: &str, local_prefix: &str) {
        let mut routes = self.inner().voice.routes.lock().unwrap();
        let local = local_prefix.trim_end_matches('/').to_owned();
        routes.push((public_prefix.trim_end_matches('/').to_owned(), local));
    }

    /// Every call accepted so far, in arrival order.
    pub fn calls(&self) -> Vec<ReceivedCall> {
        self.inner().voice.calls.lock().unwrap().clone()
    }

    /// Waits until at least `n` calls were accepted and returns them all; panics after `timeout`.
    pub async fn wait_for_calls(&self, n: usize, timeout: Duration) -> Vec<ReceivedCall> {
        let started = Instant::now();
        loop {
            let calls = self.calls();
            if calls.len() >= n {
                return calls;
            }
            if started.elapsed() >= timeout {
                panic!(
                    "twilio stand-in: waited {timeout:?} for {n} calls but accepted only {} ({} \
                     requests in all)",
                    calls.len(),
                    self.request_count(),
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// What each accepted call went through so far, in arrival order.
    pub fn played_calls(&self) -> Vec<PlayedCall> {
        self.inner().voice.played.lock().unwrap().clone()
    }

    /// Waits until the call `sid` is over and returns what it went through; panics after
    /// `timeout`.
    pub async fn wait_for_call_end(&self, sid: &str, timeout: Duration) -> PlayedCall {
        let started = Instant::now();
        loop {
            let played = self.played_calls().into_iter().find(|c| c.sid == sid);
            if let Some(call) = &played
                && call.ended_at.is_some()
            {
                return call.clone();
            }
            if started.elapsed() >= timeout {
                panic!("twilio stand-in: call {sid} not over after {timeout:?}: {played:?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Every request made to Tocsin for calls so far (callbacks, TwiML, gathers), in order.
    pub fn call_events(&self) -> Vec<CallEvent> {
        self.inner().voice.events.lock().unwrap().clone()
    }

    /// The requests made for the call `sid`.
    pub fn call_events_of(&self, sid: &str) -> Vec<CallEvent> {
        let events = self.call_events().into_iter();
        events.filter(|e| e.sid == sid).collect()
    }

    /// When each call since the start or the last [`reset_calls`](Self::reset_calls) was
    /// accepted, in arrival order (counting or not).
    pub fn call_times(&self) -> Vec<SystemTime> {
        self.inner().voice.call_times.lock().unwrap().clone()
    }

    /// How many calls were accepted since the start or the last reset (counting or not).
    pub fn call_count(&self) -> usize {
        self.inner().voice.call_times.lock().unwrap().len()
    }

    /// How many calls since the start or the last reset are over (their final callback sent).
    pub fn ended_call_count(&self) -> usize {
        self.inner().voice.ended.load(Ordering::SeqCst)
    }

    /// Forgets the calls, what they went through and their events (not the scripts).
    pub fn reset_calls(&self) {
        let voice = &self.inner().voice;
        voice.call_times.lock().unwrap().clear();
        voice.ended.store(0, Ordering::SeqCst);
        voice.calls.lock().unwrap().clear();
        voice.played.lock().unwrap().clear();
        voice.events.lock().unwrap().clear();
    }

    /// POSTs `params` to `url` (routed as [`route_public_url`](Self::route_public_url) says)
    /// signed with a token that is not this account's, as a forger would; returns the status
    /// Tocsin answered. Replays a [`CallEvent`] with `post_forged(&e.url, &e.params)`.
    pub async fn post_forged(
        &self,
        url: &str,
        params: &[(String, String)],
    ) -> Result<u16, reqwest::Error> {
        let local = self.inner().voice.local_url(url);
        let forged = format!("{}-forged", self.inner().auth_token);
        post_signed(url, &local, &forged, params).await
    }
}
