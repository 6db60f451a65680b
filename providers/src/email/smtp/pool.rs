//! The sessions kept open for reuse, and one send on one of them: take an idle session, open
//! one, or wait for one to be handed over; run the transaction; keep the session if it went
//! well.
//!
//! lettre's own pool is not used: it opens its sockets itself (without TCP_NODELAY) and its
//! `max_size` caps only idle sessions. Here each open session holds one of `max_connections`
//! slots until it is dropped.
//!
//! When every session is busy, a send waits in line. The session that finishes next takes the
//! first in line along: on a relay that pipelines, that message's envelope goes out in the same
//! write as the finishing message's content, and the session is handed over with DATA already
//! answered (see [`content`]); otherwise the session is handed over ready for MAIL. So a busy
//! session costs one round trip per message, not two.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicU8, Ordering},
    },
    time::Duration,
};

use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore, oneshot},
    time::Instant,
};

use super::{
    error::SmtpError,
    session::{Commands, Connector, Session, Transaction, TransactionError, content, envelope},
};

/// Longest a session is kept idle. Relays close idle sessions themselves (RFC 5321 §4.5.3.2.7
/// asks for 5 minutes; postfix under stress waits only 10 s), and a NAT or firewall on the way
/// may forget the flow without a word, so that a send on it would hang until the timeout
/// instead of failing at once. Past this age a session is dropped rather than tried.
const IDLE_LIMIT: Duration = Duration::from_secs(30);

pub(super) struct Pool {
    connector: Connector,
    /// One per open session, held by the session until it is dropped.
    slots: Arc<Semaphore>,
    /// A std mutex: it is never held across an await.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Most recently used last.
    idle: Vec<Idle>,
    /// Sends waiting for a session, first come first.
    waiting: VecDeque<Waiter>,
    next_ticket: u64,
}

/// An open session and its slot. The session is boxed: it is handed from send to send.
struct Held {
    session: Box<Session>,
    _slot: OwnedSemaphorePermit,
}

struct Idle {
    held: Held,
    since: Instant,
}

struct Waiter {
    ticket: u64,
    transaction: Arc<Transaction>,
    gate: Arc<Gate>,
    handoff: oneshot::Sender<Handoff>,
}

/// What a waiting send is handed.
enum Handoff {
    /// A session ready for MAIL.
    Ready(Held),
    /// A session on which this message's MAIL, RCPTs and DATA were sent behind the previous
    /// message's content, and DATA answered 354: the content is next. Its gate has begun.
    Primed(Held),
    /// This message's envelope was sent behind the previous content and refused.
    Refused(TransactionError),
    /// This message's envelope was sent behind the previous content, and the session then
    /// failed or closed: the relay got no content, so nothing was taken. Or the send that took
    /// the message along was dropped. Either way it is tried again on a fresh session.
    Lost,
}

/// How a send got its session.
enum Got {
    Idle(Held),
    Opened(Held),
    Handed(Handoff),
}

impl Pool {
    pub(super) fn new(connector: Connector, max_sessions: usize) -> Self {
        Pool {
            connector,
            slots: Arc::new(Semaphore::new(max_sessions)),
            state: Mutex::default(),
        }
    }

    /// Sends one message, and `gate` tells whether its caller still waits (see [`Gate`]). A
    /// session is found within `deadline`, else the message is not sent: `busy` is the error
    /// when all sessions stayed in use; `timeout` only words the errors.
    pub(super) async fn send(
        &self,
        gate: &Arc<Gate>,
        transaction: &Arc<Transaction>,
        recipient: &str,
        deadline: Instant,
        timeout: Duration,
        busy: SmtpError,
    ) -> Result<(), SmtpError> {
        let mut may_reuse = true;
        loop {
            let got = self.session(gate, transaction, may_reuse, deadline).await;
            let (mut held, reused, primed) = match got {
                Ok(Got::Opened(held)) => (held, false, false),
                Ok(Got::Idle(held) | Got::Handed(Handoff::Ready(held))) => (held, true, false),
                Ok(Got::Handed(Handoff::Primed(held))) => (held, true, true),
                Ok(Got::Handed(Handoff::Refused(error))) => {
                    return Err(SmtpError::from_transaction(error, recipient));
                }
                Ok(Got::Handed(Handoff::Lost)) => {
                    if !gate.reopen() {
                        return Err(SmtpError::no_session(timeout));
                    }
                    may_reuse = false;
                    continue;
                }
                Err(Unavailable::Busy) => return Err(busy),
                Err(Unavailable::NotOpened(None)) => return Err(SmtpError::no_session(timeout)),
                Err(Unavailable::NotOpened(Some(error))) => {
                    return Err(SmtpError::from_open(error, recipient));
                }
            };
            if !primed {
                if !gate.begin() {
                    // The caller gave up and said "not sent": keep that true, and the session.
                    self.put_back(held);
                    return Err(SmtpError::no_session(timeout));
                }
                match envelope(&mut held.session, transaction).await {
                    Ok(()) => {}
                    // A session that sat idle may have been closed by the relay, which the MAIL
                    // command finds out: no reply at all, or the 421 "closing" the relay sent
                    // as it left. Nothing of this message reached the relay (pipelined, its
                    // RCPT and DATA went with the MAIL, but never its content), so one more try
                    // on a fresh session cannot duplicate it. (Testing each idle session with
                    // NOOP first, as lettre's pool does, would cost a round trip on every send
                    // to spare this rare one; and a session could still close between the NOOP
                    // and the MAIL.)
                    Err(TransactionError::Envelope {
                        error,
                        at_mail: true,
                    }) if reused && closing(&error) => {
                        drop(held);
                        if !gate.reopen() {
                            return Err(SmtpError::no_session(timeout));
                        }
                        may_reuse = false;
                        continue;
                    }
                    // Any other failure drops the session, which must not be reused as it
                    // stands: a pipelined one may be waiting for content after a 354. (After a
                    // refused recipient an RSET could keep it for the next message; not done:
                    // refusals are rare in a healthy list.)
                    Err(error) => return Err(SmtpError::from_transaction(error, recipient)),
                }
            }
            let next = self.next_in_line(&held.session);
            let commands = next.as_ref().map(|(_, commands)| commands);
            return match content(&mut held.session, transaction, commands).await {
                Ok(None) => {
                    self.put_back(held);
                    Ok(())
                }
                Ok(Some(next_envelope)) => {
                    let handoff = match next_envelope {
                        Ok(()) => Handoff::Primed(held),
                        Err(TransactionError::Envelope { error, at_mail })
                            if at_mail && closing(&error) =>
                        {
                            Handoff::Lost
                        }
                        Err(error) => Handoff::Refused(error),
                    };
                    if let Some((waiter, _)) = next {
                        // A waiter gone meanwhile takes the session with it: its envelope waits
                        // for content that will not come.
                        let _ = waiter.handoff.send(handoff);
                    }
                    Ok(())
                }
                Err(error) => {
                    if let Some((waiter, _)) = next {
                        let _ = waiter.handoff.send(Handoff::Lost);
                    }
                    Err(SmtpError::from_transaction(error, recipient))
                }
            };
        }
    }

    /// An idle session (when `may_reuse`), a new one if a slot is free, or whatever is handed
    /// over while waiting in line until `deadline`, which may be a new slot.
    async fn session(
        &self,
        gate: &Arc<Gate>,
        transaction: &Arc<Transaction>,
        may_reuse: bool,
        deadline: Instant,
    ) -> Result<Got, Unavailable> {
        if may_reuse && let Some(held) = self.take_idle() {
            return Ok(Got::Idle(held));
        }
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => match self.wait(gate, transaction, deadline).await {
                Waited::Handed(handoff) => return Ok(Got::Handed(handoff)),
                Waited::Slot(slot) => slot,
                Waited::TimedOut => return Err(Unavailable::Busy),
            },
        };
        // Boxed: opening (TLS, EHLO, AUTH) is most of the size of this future, which every
        // send moves into a task of its own, and it happens only once per session.
        let session = tokio::time::timeout_at(deadline, Box::pin(self.connector.open()))
            .await
            .map_err(|_| Unavailable::NotOpened(None))?
            .map_err(|error| Unavailable::NotOpened(Some(error)))?;
        Ok(Got::Opened(Held {
            session: Box::new(session),
            _slot: slot,
        }))
    }

    /// Waits in line for a session handed over, or a slot freed by a session that was dropped.
    async fn wait(
        &self,
        gate: &Arc<Gate>,
        transaction: &Arc<Transaction>,
        deadline: Instant,
    ) -> Waited {
        let (handoff, mut handed) = oneshot::channel();
        gate.in_line.store(true, Ordering::Release);
        let ticket = {
            let mut state = self.state();
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            state.waiting.push_back(Waiter {
                ticket,
                transaction: transaction.clone(),
                gate: gate.clone(),
                handoff,
            });
            ticket
        };
        let slot = tokio::select! {
            biased;
            handoff = &mut handed => return Waited::Handed(handoff.unwrap_or(Handoff::Lost)),
            slot = tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned()) => slot,
        };
        let left_line = {
            let mut state = self.state();
            let at = state.waiting.iter().position(|w| w.ticket == ticket);
            at.and_then(|at| state.waiting.remove(at)).is_some()
        };
        if !left_line {
            // Taken from the line meanwhile: what it was handed is on its way.
            drop(slot);
            return Waited::Handed(handed.await.unwrap_or(Handoff::Lost));
        }
        match slot {
            Ok(Ok(slot)) => {
                gate.in_line.store(false, Ordering::Release);
                Waited::Slot(slot)
            }
            _ => Waited::TimedOut,
        }
    }

    /// The first send in line whose envelope may follow a content on `session`, with its
    /// commands, its gate begun. Sends whose caller gave up are dropped from the line.
    fn next_in_line(&self, session: &Session) -> Option<(Waiter, Commands)> {
        if !session.pipelines() {
            return None;
        }
        let mut state = self.state();
        loop {
            let first = state.waiting.front()?;
            // A message this session cannot carry waits to be handed a session of its own,
            // on which it gets its own error.
            let commands = first.transaction.commands(session).ok()?;
            let waiter = state.waiting.pop_front()?;
            if waiter.gate.begin() {
                return Some((waiter, commands));
            }
        }
    }

    /// The most recently used idle session young enough to trust; older ones are closed.
    fn take_idle(&self) -> Option<Held> {
        let mut state = self.state();
        let now = Instant::now();
        state
            .idle
            .retain(|idle| now.duration_since(idle.since) < IDLE_LIMIT);
        state.idle.pop().map(|idle| idle.held)
    }

    /// Hands the session to the first send in line, or keeps it idle.
    fn put_back(&self, mut held: Held) {
        let mut state = self.state();
        while let Some(waiter) = state.waiting.pop_front() {
            match waiter.handoff.send(Handoff::Ready(held)) {
                Ok(()) => return,
                Err(Handoff::Ready(back)) => held = back,
                Err(_) => unreachable!("the handoff sent was Ready"),
            }
        }
        state.idle.push(Idle {
            held,
            since: Instant::now(),
        });
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why a send found no session.
enum Unavailable {
    /// Every slot stayed in use until the deadline.
    Busy,
    /// Opening one failed, or did not end by the deadline (`None`).
    NotOpened(Option<super::session::OpenError>),
}

enum Waited {
    Handed(Handoff),
    Slot(OwnedSemaphorePermit),
    TimedOut,
}

/// No reply at all, or the 421 "closing" a relay sends as it leaves.
fn closing(error: &lettre::transport::smtp::Error) -> bool {
    error.status().is_none_or(|code| u16::from(code) == 421)
}

/// Whether a send may still start its transaction. The caller stops waiting at its deadline
/// (or is dropped) while the send goes on in its own task; whichever of the two moves first
/// decides, so that "not sent" is only ever reported for a message whose transaction never
/// began, and a transaction never begins once that was reported.
#[derive(Debug, Default)]
pub(super) struct Gate {
    state: AtomicU8,
    /// The send is waiting in line for a session.
    in_line: AtomicBool,
}

const OPENING: u8 = 0;
const SENDING: u8 = 1;
const ABANDONED: u8 = 2;

impl Gate {
    /// Called before MAIL FROM, by the send or by the one that takes it along: false if the
    /// caller has given up.
    fn begin(&self) -> bool {
        self.state
            .compare_exchange(OPENING, SENDING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Called by the send when MAIL FROM failed and nothing was sent: false if the caller has
    /// given up meanwhile.
    fn reopen(&self) -> bool {
        self.state
            .compare_exchange(SENDING, OPENING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Called by the caller when it stops waiting: true if no transaction had begun (nothing
    /// was sent, and now nothing will be).
    pub(super) fn abandon(&self) -> bool {
        self.state.swap(ABANDONED, Ordering::AcqRel) == OPENING
    }

    /// Whether the send was waiting in line for a session (all of them in use), rather than
    /// opening one.
    pub(super) fn waited_in_line(&self) -> bool {
        self.in_line.load(Ordering::Acquire)
    }
}
