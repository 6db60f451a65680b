//! The scripted callee of one call, played after the 201: status callbacks, the TwiML request,
//! the verbs as the callee hears them, the `<Gather>` answer, then the end. Every request is
//! form-encoded (or a query string for `GET`) and signed as Twilio signs (`twilio::sign`; status
//! callbacks by POST go through `twilio::post_signed` itself).

use std::{
    sync::{Arc, Weak, atomic::Ordering},
    time::{Duration, Instant},
};

use axum::http::header;

use super::{
    CallEvent, CallEventKind, CallStatus, Callee, GatherVerb, MachineDetection, ReceivedCall, Said,
    StatusEvent, Voice,
    twiml::{self, Element},
};
use crate::twilio::{Inner, post_signed_with, sign};

/// Between two steps of a call: quick, never a real call's pace.
const STEP: Duration = Duration::from_millis(20);
/// Documents one call may chain (gather actions, redirects) before the stand-in hangs up.
const MAX_DOCUMENTS: usize = 10;
/// 150 words a minute.
const MS_PER_WORD: u64 = 60_000 / 150;

/// The stand-in was dropped: the call stops there.
struct Gone;

/// A TwiML document and the URL it came from (`None`: inline).
struct Doc {
    url: Option<String>,
    root: Element,
}

/// What comes after a document's verbs.
enum Next {
    Hangup,
    Fetch {
        kind: CallEventKind,
        url: String,
        method: String,
        extra: Vec<(String, String)>,
    },
    /// The call fails with this `ErrorCode`.
    Error(u32),
}

/// What a TwiML request brought.
enum Fetched {
    Document(Doc),
    /// An empty answer: nothing more to play.
    Nothing,
    Error(u32),
}

struct Run {
    weak: Weak<Inner>,
    call: ReceivedCall,
    callee: Callee,
    /// The next status callback's `SequenceNumber`.
    sequence: u32,
    answered_by: Option<&'static str>,
    /// How long the call has lasted so far, estimated, in milliseconds.
    elapsed_ms: u64,
    pressed: bool,
}

/// Plays `callee` for `call` from its `started_at`.
pub(super) async fn play(weak: Weak<Inner>, call: ReceivedCall, callee: Callee) {
    // A step after the 201 at least, so that Tocsin knows the CallSid before the first callback.
    tokio::time::sleep_until((call.started_at + STEP).into()).await;
    let mut run = Run {
        weak,
        call,
        callee,
        sequence: 0,
        answered_by: None,
        elapsed_ms: 0,
        pressed: false,
    };
    let _ = run.play().await;
}

impl Run {
    fn inner(&self) -> Result<Arc<Inner>, Gone> {
        self.weak.upgrade().ok_or(Gone)
    }

    async fn play(&mut self) -> Result<(), Gone> {
        self.status(StatusEvent::Initiated, CallStatus::Initiated, None)
            .await?;
        tokio::time::sleep(STEP).await;
        match self.callee {
            Callee::Busy => return self.end(CallStatus::Busy, 0, None).await,
            Callee::Fails => return self.end(CallStatus::Failed, 0, None).await,
            _ => {}
        }
        self.status(StatusEvent::Ringing, CallStatus::Ringing, None)
            .await?;
        let ring = *self.inner()?.voice.ring_time.lock().unwrap();
        tokio::time::sleep(ring.unwrap_or(STEP)).await;
        if self.callee == Callee::NoAnswer {
            return self.end(CallStatus::NoAnswer, 0, None).await;
        }

        self.answered_by = match (self.callee, self.call.machine_detection) {
            (_, None) => None,
            (Callee::AnsweringMachine, Some(MachineDetection::Enable)) => Some("machine_start"),
            (Callee::AnsweringMachine, Some(MachineDetection::DetectMessageEnd)) => {
                Some("machine_end_beep")
            }
            (_, Some(_)) => Some("human"),
        };
        let answered_by = self.answered_by.map(str::to_owned);
        self.inner()?
            .voice
            .update(&self.call.sid, |p| p.answered_by = answered_by);
        self.status(StatusEvent::Answered, CallStatus::InProgress, None)
            .await?;
        let first = match (&self.call.url, &self.call.twiml) {
            (Some(url), _) => {
                let (url, method) = (url.clone(), self.call.method.clone());
                self.fetch(CallEventKind::Twiml, url, &method, Vec::new())
                    .await?
            }
            (None, Some(inline)) => match twiml::parse(inline) {
                Ok(root) => Fetched::Document(Doc { url: None, root }),
                Err(_) => Fetched::Error(12100),
            },
            (None, None) => Fetched::Nothing,
        };
        let error = match first {
            Fetched::Document(doc) => self.run_documents(doc).await?,
            Fetched::Nothing => None,
            Fetched::Error(code) => Some(code),
        };
        let duration = match self.callee {
            Callee::HangsUpAfter(after) => whole_seconds(after.as_millis()),
            _ => whole_seconds(self.elapsed_ms.into()).max(1),
        };
        tokio::time::sleep(STEP).await;
        match error {
            None => self.end(CallStatus::Completed, duration, None).await,
            Some(code) => self.end(CallStatus::Failed, duration, Some(code)).await,
        }
    }

    /// Plays `first` and the documents it leads to; the `ErrorCode` the call fails with, if any.
    async fn run_documents(&mut self, first: Doc) -> Result<Option<u32>, Gone> {
        let mut doc = first;
        for _ in 0..MAX_DOCUMENTS {
            let next = {
                let inner = self.inner()?;
                let url = doc.url.clone().unwrap_or_else(|| "inline".to_owned());
                inner
                    .voice
                    .update(&self.call.sid, |p| p.documents.push(url));
                self.run_verbs(&inner.voice, &doc)
            };
            let (kind, url, method, extra) = match next {
                Next::Hangup => return Ok(None),
                Next::Error(code) => return Ok(Some(code)),
                Next::Fetch {
                    kind,
                    url,
                    method,
                    extra,
                } => (kind, url, method, extra),
            };
            tokio::time::sleep(STEP).await;
            match self.fetch(kind, url, &method, extra).await? {
                Fetched::Document(next) => doc = next,
                Fetched::Nothing => return Ok(None),
                Fetched::Error(code) => return Ok(Some(code)),
            }
        }
        Ok(None)
    }

    /// Runs the verbs of `doc` in order, as the callee hears them, up to the first that leaves
    /// the document (a pressed `<Gather>`, `<Redirect>`, `<Hangup>`) or the end, where Twilio
    /// hangs up.
    fn run_verbs(&mut self, voice: &Voice, doc: &Doc) -> Next {
        for verb in doc.root.elements() {
            if self.hung_up() {
                return Next::Hangup;
            }
            let name = verb.name.clone();
            voice.update(&self.call.sid, |p| p.verbs.push(name));
            match verb.name.as_str() {
                "Say" => self.say(voice, verb, false),
                "Pause" => self.elapsed_ms += millis(verb, "length", 1),
                "Gather" => {
                    if let Some(next) = self.gather(voice, doc, verb) {
                        return next;
                    }
                }
                "Hangup" | "Reject" => return Next::Hangup,
                "Redirect" => {
                    let target = verb.text();
                    let target = Some(target.trim()).filter(|t| !t.is_empty());
                    let Some(url) = resolve(doc.url.as_deref(), target) else {
                        return Next::Error(11100);
                    };
                    let method = method_of(verb);
                    let extra = Vec::new();
                    let kind = CallEventKind::Redirect;
                    return Next::Fetch {
                        kind,
                        url,
                        method,
                        extra,
                    };
                }
                _ => {}
            }
        }
        Next::Hangup
    }

    /// Plays a `<Gather>` and what it nests; where the call goes when the callee presses a key.
    fn gather(&mut self, voice: &Voice, doc: &Doc, verb: &Element) -> Option<Next> {
        let attr = |name: &str| verb.attr(name).map(str::to_owned);
        let seen = GatherVerb {
            input: attr("input"),
            num_digits: attr("numDigits"),
            timeout: attr("timeout"),
            action: attr("action"),
            method: attr("method"),
            finish_on_key: attr("finishOnKey"),
        };
        voice.update(&self.call.sid, |p| p.gathers.push(seen));
        for nested in verb.elements() {
            if self.hung_up() {
                return Some(Next::Hangup);
            }
            match nested.name.as_str() {
                "Say" => self.say(voice, nested, true),
                "Pause" => self.elapsed_ms += millis(nested, "length", 1),
                _ => {}
            }
        }
        if self.hung_up() {
            return Some(Next::Hangup);
        }
        let timeout = millis(verb, "timeout", 5);
        let takes_dtmf = verb
            .attr("input")
            .is_none_or(|input| input.split_whitespace().any(|i| i == "dtmf"));
        let key = match self.callee {
            Callee::AnswersAndPresses(Some(key)) if takes_dtmf && !self.pressed => key,
            _ => {
                // Nothing pressed: Twilio waits `timeout`, then goes on after the <Gather>.
                self.elapsed_ms += timeout;
                return None;
            }
        };
        self.pressed = true;
        let finish_on_key = verb.attr("finishOnKey").unwrap_or("#");
        let (digits, finished_on) = if finish_on_key.contains(key) {
            (String::new(), key.to_string())
        } else {
            (key.to_string(), String::new())
        };
        // One key ends the <Gather> only with numDigits="1"; otherwise Twilio waits `timeout`.
        if !digits.is_empty() && verb.attr("numDigits").map(str::trim) != Some("1") {
            self.elapsed_ms += timeout;
        }
        let posted = digits.clone();
        voice.update(&self.call.sid, |p| p.digits = Some(posted));
        let action = verb.attr("action").filter(|a| !a.trim().is_empty());
        let Some(url) = resolve(doc.url.as_deref(), action) else {
            return Some(Next::Error(11100));
        };
        let extra = vec![
            ("Digits".to_owned(), digits),
            ("FinishedOnKey".to_owned(), finished_on),
            ("msg".to_owned(), "Gather End".to_owned()),
        ];
        let method = method_of(verb);
        let kind = CallEventKind::Gather;
        Some(Next::Fetch {
            kind,
            url,
            method,
            extra,
        })
    }

    fn say(&mut self, voice: &Voice, verb: &Element, in_gather: bool) {
        let text = verb
            .text()
            .split_ascii_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let loops = verb
            .attr("loop")
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(1);
        let words = text.split_ascii_whitespace().count() as u64;
        self.elapsed_ms += words * MS_PER_WORD * u64::from(loops.max(1));
        let said = Said {
            text,
            language: verb.attr("language").map(str::to_owned),
            voice: verb.attr("voice").map(str::to_owned),
            loops,
            in_gather,
        };
        voice.update(&self.call.sid, |p| p.said.push(said));
    }

    /// The callee hung up already.
    fn hung_up(&self) -> bool {
        matches!(self.callee, Callee::HangsUpAfter(after) if u128::from(self.elapsed_ms) >= after.as_millis())
    }

    /// The parameters of every request about the call (Twilio's standard voice request).
    fn base_params(&self, status: CallStatus) -> Vec<(String, String)> {
        let call = &self.call;
        [
            ("AccountSid", call.account_sid.as_str()),
            ("ApiVersion", "2010-04-01"),
            ("CallSid", &call.sid),
            ("CallStatus", status.as_str()),
            ("Called", &call.to),
            ("Caller", &call.from),
            ("Direction", "outbound-api"),
            ("From", &call.from),
            ("To", &call.to),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
    }

    /// The call is now `status`; posts the callback for `event` when the call asked for it.
    /// `last`: the final callback's `CallDuration` and `ErrorCode`.
    async fn status(
        &mut self,
        event: StatusEvent,
        status: CallStatus,
        last: Option<(u32, Option<u32>)>,
    ) -> Result<(), Gone> {
        let inner = self.inner()?;
        inner.voice.update(&self.call.sid, |p| p.status = status);
        let Some(url) = self.call.status_callback.clone() else {
            return Ok(());
        };
        if !self.call.events.contains(&event) {
            return Ok(());
        }
        let mut params = self.base_params(status);
        let mut add = |name: &str, value: String| params.push((name.to_owned(), value));
        add("Timestamp", chrono::Utc::now().to_rfc2822());
        add("SequenceNumber", self.sequence.to_string());
        add("CallbackSource", "call-progress-events".to_owned());
        if let Some((duration, error)) = last {
            add("CallDuration", duration.to_string());
            if let Some(answered_by) = self.answered_by {
                add("AnsweredBy", answered_by.to_owned());
            }
            if let Some(code) = error {
                add("ErrorCode", code.to_string());
            }
        }
        self.sequence += 1;
        let method = self.call.status_callback_method.clone();
        self.send(&inner, CallEventKind::Status, &method, &url, params)
            .await;
        Ok(())
    }

    /// Ends the call: the final callback (`completed` event), then the record.
    async fn end(
        &mut self,
        status: CallStatus,
        duration: u32,
        error: Option<u32>,
    ) -> Result<(), Gone> {
        let last = Some((duration, error));
        self.status(StatusEvent::Completed, status, last).await?;
        self.inner()?.voice.update(&self.call.sid, |p| {
            p.duration = Some(duration);
            p.error_code = error;
            p.ended_at = Some(Instant::now());
        });
        self.inner()?.voice.ended.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Requests TwiML from `url` (`Url`, a gather's action, a redirect) and reads it.
    async fn fetch(
        &mut self,
        kind: CallEventKind,
        url: String,
        method: &str,
        extra: Vec<(String, String)>,
    ) -> Result<Fetched, Gone> {
        let inner = self.inner()?;
        let mut params = self.base_params(CallStatus::InProgress);
        if let Some(answered_by) = self.answered_by {
            params.push(("AnsweredBy".to_owned(), answered_by.to_owned()));
        }
        params.extend(extra);
        let answer = self.send(&inner, kind, method, &url, params).await;
        Ok(match answer {
            Some((200..=299, body)) if body.trim().is_empty() => Fetched::Nothing,
            Some((200..=299, body)) => match twiml::parse(&body) {
                Ok(root) => Fetched::Document(Doc {
                    url: Some(url),
                    root,
                }),
                Err(_) => Fetched::Error(12100),
            },
            _ => Fetched::Error(11200),
        })
    }

    /// Sends one signed request and records it; the status and body of the answer, `None` when
    /// Tocsin could not be reached.
    async fn send(
        &self,
        inner: &Inner,
        kind: CallEventKind,
        method: &str,
        url: &str,
        params: Vec<(String, String)>,
    ) -> Option<(u16, String)> {
        let voice = &inner.voice;
        let _turn = voice.in_flight.acquire().await.expect("never closed");
        let local = voice.local_url(url);
        let token = &inner.auth_token;
        let answer = if method == "GET" {
            // Parameters in the query string; the signature covers the full URL alone (§2.4).
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&params)
                .finish();
            let with_query = |url: &str| match (query.is_empty(), url.contains('?')) {
                (true, _) => url.to_owned(),
                (false, true) => format!("{url}&{query}"),
                (false, false) => format!("{url}?{query}"),
            };
            let request = voice
                .client
                .get(with_query(&local))
                .header(header::USER_AGENT, "TwilioProxy/1.1")
                .header("X-Twilio-Signature", sign(token, &with_query(url), &[]));
            read(request.send().await).await
        } else if kind == CallEventKind::Status {
            let status = post_signed_with(&voice.client, url, &local, token, &params).await;
            status.ok().map(|status| (status, String::new()))
        } else {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&params)
                .finish();
            let request = voice
                .client
                .post(&local)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::USER_AGENT, "TwilioProxy/1.1")
                .header("X-Twilio-Signature", sign(token, url, &params))
                .body(body);
            read(request.send().await).await
        };
        voice.record(CallEvent {
            sid: self.call.sid.clone(),
            kind,
            method: method.to_owned(),
            url: url.to_owned(),
            params,
            answered_status: answer.as_ref().map(|(status, _)| *status),
            at: Instant::now(),
        });
        answer
    }
}

async fn read(sent: Result<reqwest::Response, reqwest::Error>) -> Option<(u16, String)> {
    let response = sent.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.unwrap_or_default()))
}

/// `target` (absolute, or relative to `base`), or `base` itself when there is no target: where
/// Twilio sends a `<Gather>` without `action`.
fn resolve(base: Option<&str>, target: Option<&str>) -> Option<String> {
    let Some(target) = target else {
        return base.map(str::to_owned);
    };
    if let Ok(absolute) = url::Url::parse(target) {
        return Some(absolute.into());
    }
    let joined = url::Url::parse(base?).ok()?.join(target).ok()?;
    Some(joined.into())
}

/// A verb's `method`: `GET` or (default) `POST`.
fn method_of(verb: &Element) -> String {
    match verb.attr("method") {
        Some(m) if m.eq_ignore_ascii_case("GET") => "GET".to_owned(),
        _ => "POST".to_owned(),
    }
}

/// A whole number of seconds in attribute `name`, or `default`, in milliseconds.
fn millis(verb: &Element, name: &str, default: u32) -> u64 {
    let given = verb.attr(name).and_then(|v| v.trim().parse::<u32>().ok());
    u64::from(given.unwrap_or(default)) * 1000
}

/// Milliseconds rounded up to whole seconds, as `CallDuration`.
fn whole_seconds(ms: u128) -> u32 {
    u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX)
}
