//! The scripted callee of one call, played after the 201: the status events, the NCCO as the
//! callee hears it, the input result and the NCCO Tocsin answers to it, then the end. Every
//! request is JSON, signed as the parent module's `webhook_token` says.

use std::{
    sync::{Arc, Weak},
    time::{Duration, Instant},
};

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{
    Action, CallEventKind, CallStatus, Callee, Inner, Input, MachineDetection, RATE_PER_MINUTE,
    ReceivedCall, ncco,
};

/// Between two steps of a call: quick, never a real call's pace.
const STEP: Duration = Duration::from_millis(20);
/// NCCOs one call may chain (answers to inputs) before the stand-in hangs up.
const MAX_NCCOS: usize = 10;
/// 150 words a minute.
const MS_PER_WORD: u64 = 60_000 / 150;

/// The stand-in was dropped: the call stops there.
struct Gone;

struct Run {
    weak: Weak<Inner>,
    call: ReceivedCall,
    callee: Callee,
    /// How long the call has lasted so far, estimated, in milliseconds.
    elapsed_ms: u64,
    pressed: bool,
}

/// Plays `callee` for `call` from its `started_at`.
pub(super) async fn play(weak: Weak<Inner>, call: ReceivedCall, callee: Callee) {
    // A step after the 201 at least, so that Tocsin knows the uuid before the first event.
    tokio::time::sleep_until((call.started_at + STEP).into()).await;
    let mut run = Run {
        weak,
        call,
        callee,
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
        self.event(CallStatus::Started, json!({})).await?;
        tokio::time::sleep(STEP).await;
        self.event(CallStatus::Ringing, json!({})).await?;
        tokio::time::sleep(STEP).await;
        let unanswered = match self.callee {
            Callee::NoAnswer => Some(CallStatus::Unanswered),
            Callee::Busy => Some(CallStatus::Busy),
            Callee::Fails => Some(CallStatus::Failed),
            _ => None,
        };
        if let Some(status) = unanswered {
            return self.end(status, json!({"duration": "0"}), 0).await;
        }

        self.event(CallStatus::Answered, json!({})).await?;
        let machine = self.callee == Callee::AnsweringMachine;
        if machine && let Some(detection) = self.call.machine_detection {
            tokio::time::sleep(STEP).await;
            let more = json!({"sub_state": "beep_start"});
            self.event(CallStatus::Machine, more).await?;
            if detection == MachineDetection::Hangup {
                tokio::time::sleep(STEP).await;
                return self.completed(1).await;
            }
        }
        let mut actions = self.call.ncco.clone();
        for _ in 0..MAX_NCCOS {
            match self.run_actions(&actions, machine).await? {
                Some(next) => actions = next,
                None => break,
            }
        }
        let length_ms = self
            .call
            .length_timer
            .map_or(u64::MAX, |s| u64::from(s) * 1000);
        let duration = match self.callee {
            Callee::HangsUpAfter(after) => {
                let after = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
                whole_seconds(after.min(length_ms))
            }
            _ => whole_seconds(self.elapsed_ms.min(length_ms)).max(1),
        };
        tokio::time::sleep(STEP).await;
        self.completed(duration).await
    }

    /// Plays `actions` in order, as the callee hears them; the NCCO Tocsin answered to an input
    /// result, which replaces the rest, or `None` when the call is over.
    async fn run_actions(
        &mut self,
        actions: &[Action],
        machine: bool,
    ) -> Result<Option<Vec<Action>>, Gone> {
        for action in actions {
            if self.hung_up() {
                return Ok(None);
            }
            let name = action.name().to_owned();
            self.inner()?
                .update(&self.call.uuid, |p| p.actions.push(name));
            match action {
                Action::Talk(talk) => {
                    let words = talk.text.split_whitespace().count() as u64;
                    self.elapsed_ms += words * MS_PER_WORD * u64::from(talk.loops.max(1));
                    let talk = talk.clone();
                    self.inner()?
                        .update(&self.call.uuid, |p| p.talks.push(talk));
                }
                Action::Input(input) => {
                    let seen = input.clone();
                    self.inner()?
                        .update(&self.call.uuid, |p| p.inputs.push(seen));
                    if machine {
                        // A machine records the silence and presses nothing; not posted.
                        self.elapsed_ms += u64::from(input.time_out) * 1000;
                        continue;
                    }
                    if let Some(answer) = self.input(input).await? {
                        return Ok(answer);
                    }
                }
                Action::Other { .. } => {}
            }
        }
        Ok(None)
    }

    /// Plays an input: `None` when nothing was posted (the callee hung up meanwhile) or Tocsin's
    /// answer is no NCCO (the call goes on); otherwise what comes next (`Some(None)`: the answered
    /// NCCO was not valid, the call ends).
    async fn input(&mut self, input: &Input) -> Result<Option<Option<Vec<Action>>>, Gone> {
        let time_out = u64::from(input.time_out) * 1000;
        let key = match self.callee {
            Callee::AnswersAndPresses(Some(key)) if input.takes_dtmf() && !self.pressed => key,
            _ => {
                self.elapsed_ms += time_out;
                if self.hung_up() {
                    return Ok(None);
                }
                return self.post_input(input, "", true).await;
            }
        };
        self.pressed = true;
        if key == '#' && input.submit_on_hash {
            return self.post_input(input, "", false).await;
        }
        // One key fills `maxDigits: 1`; otherwise Vonage waits `timeOut` for more.
        let timed_out = input.max_digits > 1;
        if timed_out {
            self.elapsed_ms += time_out;
        }
        self.post_input(input, &key.to_string(), timed_out).await
    }

    async fn post_input(
        &mut self,
        input: &Input,
        digits: &str,
        timed_out: bool,
    ) -> Result<Option<Option<Vec<Action>>>, Gone> {
        let inner = self.inner()?;
        let url = input.event_url.clone();
        let url = url.unwrap_or_else(|| self.call.event_url.clone());
        let body = json!({
            "dtmf": {"digits": digits, "timed_out": timed_out},
            "from": self.call.from,
            "to": self.call.to,
            "uuid": self.call.uuid,
            "conversation_uuid": self.call.conversation_uuid,
            "timestamp": now(),
        });
        let posted = digits.to_owned();
        inner.update(&self.call.uuid, |p| {
            p.digits = Some(posted);
            p.timed_out = Some(timed_out);
        });
        tokio::time::sleep(STEP).await;
        let uuid = self.call.uuid.clone();
        let answer = inner.send(&uuid, CallEventKind::Input, &url, body).await;
        let Some((200..=299, text)) = answer else {
            return Ok(None);
        };
        let Ok(answered @ Value::Array(_)) = serde_json::from_str::<Value>(&text) else {
            return Ok(None);
        };
        let next = ncco::parse("ncco", &answered).ok();
        inner.update(&uuid, |p| p.answers.push(answered));
        Ok(Some(next))
    }

    /// The callee hung up already.
    fn hung_up(&self) -> bool {
        let limit_ms = self
            .call
            .length_timer
            .map_or(u128::MAX, |s| u128::from(s) * 1000);
        let limit_ms = match self.callee {
            Callee::HangsUpAfter(after) => after.as_millis().min(limit_ms),
            _ => limit_ms,
        };
        u128::from(self.elapsed_ms) >= limit_ms
    }

    /// Posts the event of `status` with `more` fields, and records the status.
    async fn event(&mut self, status: CallStatus, more: Value) -> Result<(), Gone> {
        let inner = self.inner()?;
        inner.update(&self.call.uuid, |p| p.status = status);
        let mut body = json!({
            "uuid": self.call.uuid,
            "conversation_uuid": self.call.conversation_uuid,
            "status": status.as_str(),
            "direction": "outbound",
            "from": self.call.from,
            "to": self.call.to,
            "timestamp": now(),
        });
        if let (Some(body), Value::Object(more)) = (body.as_object_mut(), more) {
            body.extend(more);
        }
        let (uuid, url) = (self.call.uuid.clone(), self.call.event_url.clone());
        inner.send(&uuid, CallEventKind::Event, &url, body).await;
        Ok(())
    }

    /// `completed` after `duration` seconds, with its times and price.
    async fn completed(&mut self, duration: u32) -> Result<(), Gone> {
        let end = Utc::now();
        let start = end - chrono::Duration::seconds(duration.into());
        let price = RATE_PER_MINUTE * f64::from(duration) / 60.0;
        let more = json!({
            "duration": duration.to_string(),
            "start_time": start.to_rfc3339_opts(SecondsFormat::Millis, true),
            "end_time": end.to_rfc3339_opts(SecondsFormat::Millis, true),
            "rate": format!("{RATE_PER_MINUTE:.8}"),
            "price": format!("{price:.8}"),
        });
        self.end(CallStatus::Completed, more, duration).await
    }

    /// Ends the call: the final event, then the record.
    async fn end(&mut self, status: CallStatus, more: Value, duration: u32) -> Result<(), Gone> {
        self.event(status, more).await?;
        self.inner()?.update(&self.call.uuid, |p| {
            p.duration = Some(duration);
            p.ended_at = Some(Instant::now());
        });
        Ok(())
    }
}

/// Now, as Vonage writes its timestamps (RFC 3339, milliseconds, `Z`).
fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Milliseconds rounded up to whole seconds.
fn whole_seconds(ms: u64) -> u32 {
    u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX)
}
