//! The sessions kept open for reuse, and one send on one of them: take an idle session or open
//! one, run the transaction, keep the session if it went well.
//!
//! lettre's own pool is not used: it opens its sockets itself (without TCP_NODELAY) and its
//! `max_size` caps only idle sessions. Here the caller's semaphore caps sessions in use, and a
//! session is only opened when none is idle, so open sessions never outnumber its permits.

use std::{
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

use lettre::address::Envelope;
use tokio::time::Instant;

use super::{
    error::SmtpError,
    session::{Connector, Session, TransactionError, transact},
};

/// Longest a session is kept idle. Relays close idle sessions themselves (RFC 5321 §4.5.3.2.7
/// asks for 5 minutes; postfix under stress waits only 10 s), and a NAT or firewall on the way
/// may forget the flow without a word, so that a send on it would hang until the timeout
/// instead of failing at once. Past this age a session is dropped rather than tried.
const IDLE_LIMIT: Duration = Duration::from_secs(30);

pub(super) struct Pool {
    connector: Connector,
    /// Most recently used last. A std mutex: it is never held across an await.
    idle: Mutex<Vec<Idle>>,
}

struct Idle {
    session: Session,
    since: Instant,
}

impl Pool {
    pub(super) fn new(connector: Connector) -> Self {
        Pool {
            connector,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends one message. The caller holds a session permit for as long as this runs, and
    /// `gate` tells whether it still waits (see [`Gate`]). A session is opened within
    /// `deadline`; `timeout` only words the error.
    pub(super) async fn send(
        &self,
        gate: &Gate,
        envelope: &Envelope,
        email: &[u8],
        recipient: &str,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(), SmtpError> {
        let mut may_reuse = true;
        loop {
            let idle = if may_reuse { self.take_idle() } else { None };
            let reused = idle.is_some();
            let mut session = match idle {
                Some(session) => session,
                None => tokio::time::timeout_at(deadline, self.connector.open())
                    .await
                    .map_err(|_| SmtpError::no_session(timeout))?
                    .map_err(|e| SmtpError::from_open(e, recipient))?,
            };
            if !gate.begin() {
                // The caller gave up and said "not sent": keep that true, and the session.
                self.put_back(session);
                return Err(SmtpError::no_session(timeout));
            }
            match transact(&mut session, envelope, email).await {
                Ok(()) => {
                    self.put_back(session);
                    return Ok(());
                }
                // A session that sat idle may have been closed by the relay, which the MAIL
                // command finds out: no reply at all, or the 421 "closing" the relay sent as it
                // left. Nothing of this message reached the relay (pipelined, its RCPT and DATA
                // went with the MAIL, but never its content), so one more try on a fresh
                // session cannot duplicate it. (Testing each idle session with NOOP first, as
                // lettre's pool does, would cost a round trip on every send to spare this rare
                // one; and a session could still close between the NOOP and the MAIL.)
                Err(TransactionError::Envelope {
                    error,
                    at_mail: true,
                }) if reused && error.status().is_none_or(|code| u16::from(code) == 421) => {
                    drop(session);
                    if !gate.reopen() {
                        return Err(SmtpError::no_session(timeout));
                    }
                    may_reuse = false;
                }
                // Any other failure drops the session, which must not be reused as it stands: a
                // pipelined one may be waiting for content after a 354. (After a refused
                // recipient an RSET could keep it for the next message; not done: refusals are
                // rare in a healthy list.)
                Err(error) => return Err(SmtpError::from_transaction(error, recipient)),
            }
        }
    }

    /// The most recently used idle session young enough to trust; older ones are closed.
    fn take_idle(&self) -> Option<Session> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        idle.retain(|session| now.duration_since(session.since) < IDLE_LIMIT);
        idle.pop().map(|idle| idle.session)
    }

    fn put_back(&self, session: Session) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Idle {
                session,
                since: Instant::now(),
            });
    }
}

/// Whether a send may still start its transaction. The caller stops waiting at its deadline
/// (or is dropped) while the send goes on in its own task; whichever of the two moves first
/// decides, so that "not sent" is only ever reported for a message whose transaction never
/// began, and a transaction never begins once that was reported.
#[derive(Debug, Default)]
pub(super) struct Gate(AtomicU8);

const OPENING: u8 = 0;
const SENDING: u8 = 1;
const ABANDONED: u8 = 2;

impl Gate {
    /// Called by the send before MAIL FROM: false if the caller has given up.
    fn begin(&self) -> bool {
        self.0
            .compare_exchange(OPENING, SENDING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Called by the send when MAIL FROM failed and nothing was sent: false if the caller has
    /// given up meanwhile.
    fn reopen(&self) -> bool {
        self.0
            .compare_exchange(SENDING, OPENING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Called by the caller when it stops waiting: true if no transaction had begun (nothing
    /// was sent, and now nothing will be).
    pub(super) fn abandon(&self) -> bool {
        self.0.swap(ABANDONED, Ordering::AcqRel) == OPENING
    }
}
