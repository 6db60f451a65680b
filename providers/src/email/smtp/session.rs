//! One SMTP session on a socket of our own (TCP_NODELAY, then TLS, EHLO, STARTTLS, AUTH) and the
//! mail transactions on it, pipelined when the relay offers it (RFC 2920): a transaction's
//! envelope in one write, or behind the previous transaction's content. lettre speaks the
//! protocol; we own the socket.

use std::{
    fmt, io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use lettre::{
    address::Envelope,
    transport::smtp::{
        Error as LettreError,
        authentication::{Credentials, DEFAULT_MECHANISMS},
        client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters},
        commands::{Data, Ehlo, Mail, Rcpt},
        extension::{ClientId, Extension, MailBodyParameter, MailParameter},
        response::Response,
    },
};
use secrecy::ExposeSecret;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_rustls::{
    TlsConnector,
    client::TlsStream,
    rustls::{self, ClientConfig, RootCertStore, crypto::CryptoProvider, pki_types::ServerName},
};

use super::config::{Relay, Security};

/// Opens sessions to one relay. Built once: the TLS settings load the system's root
/// certificates.
pub(super) struct Connector {
    relay: Relay,
    hello: ClientId,
    tls: Tls,
}

enum Tls {
    None,
    /// STARTTLS: lettre upgrades the stream it was given, with these settings.
    Upgrade(TlsParameters),
    /// Implicit TLS: the socket is wrapped before lettre sees it.
    Implicit(TlsConnector, ServerName<'static>),
}

/// Why no session could be opened. Nothing was sent.
#[derive(Debug)]
pub(super) enum OpenError {
    /// Our own I/O: name resolution, TCP connect, implicit-TLS handshake.
    Io(&'static str, io::Error),
    /// The greeting, EHLO, STARTTLS or AUTH, as lettre reports it.
    Smtp(LettreError),
}

/// An open session, ready for MAIL FROM, and what its relay offers that lettre does not record.
pub(super) struct Session {
    conn: AsyncSmtpConnection,
    /// The relay offered PIPELINING (RFC 2920) in its EHLO reply.
    pipelining: bool,
}

/// Why a transaction failed.
#[derive(Debug)]
pub(super) enum TransactionError {
    /// Refused before any command, as lettre's own `send` would (a missing SMTP extension).
    Client(&'static str),
    /// MAIL, RCPT or DATA failed (pipelined: the first of them whose reply was a failure, or
    /// the write of them all). The relay has nothing to deliver: it takes a message only when it
    /// answers the end of its content (RFC 5321 §3.3). `at_mail` when MAIL was the one.
    Envelope { error: LettreError, at_mail: bool },
    /// Sending the content or reading the final reply failed: the relay may have taken it.
    Content(LettreError),
}

impl Connector {
    /// Prepares TLS as the URL asks; the error says what failed, never the URL.
    pub(super) fn new(relay: Relay) -> Result<Self, String> {
        let tls = match relay.security {
            Security::Plain => Tls::None,
            // The same settings lettre's `from_url` builds for the relay's host.
            Security::StartTls | Security::StartTlsIfOffered => Tls::Upgrade(
                TlsParameters::new(relay.host.clone()).map_err(|e| format!("TLS setup: {e}"))?,
            ),
            Security::Implicit => {
                let name = ServerName::try_from(relay.host.clone())
                    .map_err(|_| "the host is not a valid TLS server name".to_owned())?;
                let config = implicit_tls_config().map_err(|e| format!("TLS setup: {e}"))?;
                Tls::Implicit(TlsConnector::from(config), name)
            }
        };
        let hello = relay
            .hello_name
            .clone()
            .map_or_else(ClientId::default, ClientId::Domain);
        Ok(Connector { relay, hello, tls })
    }

    /// A session ready for MAIL FROM: connected, greeted, encrypted and authenticated as the
    /// URL asks. Dropping the future drops the socket.
    pub(super) async fn open(&self) -> Result<Session, OpenError> {
        let tcp = TcpStream::connect((self.relay.host.as_str(), self.relay.port))
            .await
            .map_err(|e| OpenError::Io("cannot connect", e))?;
        // lettre writes a message's content and its final "\r\n.\r\n" in two writes. With
        // Nagle's algorithm the second waits for the relay to acknowledge the first, which it
        // delays (~40 ms on Linux): 25 messages/s per session at most. Every write lettre makes
        // is a whole command or a whole part, so there is nothing for Nagle to gather anyway.
        tcp.set_nodelay(true)
            .map_err(|e| OpenError::Io("cannot set TCP_NODELAY", e))?;
        let stream: Box<dyn AsyncTokioStream> = match &self.tls {
            Tls::Implicit(connector, name) => Box::new(ImplicitTls(
                connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| OpenError::Io("TLS handshake failed", e))?,
            )),
            Tls::None | Tls::Upgrade(_) => Box::new(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
            .await
            .map_err(OpenError::Smtp)?;
        // As lettre's transport does: `required` fails on a relay without STARTTLS (a client
        // error), `opportunistic` goes on in cleartext.
        if let Tls::Upgrade(parameters) = &self.tls
            && (self.relay.security == Security::StartTls || conn.can_starttls())
        {
            conn.starttls(parameters.clone(), &self.hello)
                .await
                .map_err(OpenError::Smtp)?;
        }
        // Before AUTH: what a second EHLO does to an authenticated session, RFC 4954 does not
        // say. After STARTTLS: the extensions offered in cleartext no longer count (RFC 3207).
        let pipelining = offers_pipelining(&mut conn, &self.hello)
            .await
            .map_err(OpenError::Smtp)?;
        if let Some(login) = &self.relay.credentials {
            let credentials = Credentials::new(
                login.user.clone(),
                login.password.expose_secret().to_owned(),
            );
            conn.auth(DEFAULT_MECHANISMS, &credentials)
                .await
                .map_err(OpenError::Smtp)?;
        }
        Ok(Session { conn, pipelining })
    }
}

/// Sends EHLO once more and reads whether the relay offers PIPELINING: lettre's `ServerInfo`
/// keeps only the extensions lettre uses. A client may send EHLO again at any time, which resets
/// nothing a session ready for MAIL holds (RFC 5321 §4.1.4). A relay that refuses a second one
/// (some answer "503 Duplicate HELO/EHLO") keeps the state of the first: the session goes on,
/// unpipelined. Only a session that broke, or a 421 "closing", fails.
async fn offers_pipelining(
    conn: &mut AsyncSmtpConnection,
    hello: &ClientId,
) -> Result<bool, LettreError> {
    match conn.command(Ehlo::new(hello.clone())).await {
        // The first line names the relay; each further one starts with an extension's keyword,
        // which is case-insensitive (RFC 5321 §2.4).
        Ok(reply) => Ok(reply.message().skip(1).any(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|keyword| keyword.eq_ignore_ascii_case("PIPELINING"))
        })),
        Err(error) if error.status().is_some_and(|code| u16::from(code) != 421) => Ok(false),
        Err(error) => Err(error),
    }
}

/// What lettre's `TlsParametersBuilder::build_rustls` makes by default, for the socket we wrap
/// ourselves: the process's default crypto provider if one is installed, else aws-lc-rs (the
/// only one this workspace compiles in); TLS 1.2 and 1.3; the system's root certificates
/// (lettre's `rustls-native-certs` feature).
fn implicit_tls_config() -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let mut roots = RootCertStore::empty();
    // Like lettre, unreadable system certificates are skipped, not fatal.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// One message to send: its envelope and its content, which lettre's builder writes as UTF-8.
pub(super) struct Transaction {
    pub(super) envelope: Envelope,
    pub(super) content: String,
}

/// A transaction's MAIL and RCPT commands for one session.
pub(super) struct Commands {
    mail: Mail,
    rcpts: Vec<Rcpt>,
}

impl Transaction {
    /// The commands of this transaction on `session`, or lettre's refusal when the session
    /// lacks an extension the message needs: the checks lettre's own `send` makes, in its order
    /// and with its words.
    pub(super) fn commands(&self, session: &Session) -> Result<Commands, TransactionError> {
        let info = session.conn.server_info();
        let mut options = Vec::new();
        let envelope = &self.envelope;
        let mut addresses = envelope.from().into_iter().chain(envelope.to());
        if addresses.any(|a| !AsRef::<str>::as_ref(a).is_ascii()) {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Err(TransactionError::Client(
                    "Envelope contains non-ascii chars but server does not support SMTPUTF8",
                ));
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        if !self.content.is_ascii() {
            if !info.supports_feature(Extension::EightBitMime) {
                return Err(TransactionError::Client(
                    "Message contains non-ascii chars but server does not support 8BITMIME",
                ));
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        Ok(Commands {
            mail: Mail::new(envelope.from().cloned(), options),
            rcpts: envelope
                .to()
                .iter()
                .map(|to| Rcpt::new(to.clone(), Vec::new()))
                .collect(),
        })
    }
}

impl Session {
    /// Whether the relay offered PIPELINING: a transaction's envelope may then follow another's
    /// content in one write.
    pub(super) fn pipelines(&self) -> bool {
        self.pipelining
    }
}

/// A transaction's MAIL, RCPTs and DATA, up to DATA's 354: its content is to be sent next.
/// After a failure the session must not be reused: a pipelined one may be waiting for content
/// it will never get.
pub(super) async fn envelope(
    session: &mut Session,
    transaction: &Transaction,
) -> Result<(), TransactionError> {
    let commands = transaction.commands(session)?;
    let conn = &mut session.conn;
    if session.pipelining {
        // `command` writes the whole group at once, flushes it, and reads MAIL's reply.
        let mail = conn.command(Group(&commands)).await;
        envelope_replies(conn, &commands, mail).await
    } else {
        let envelope_failed = |at_mail| move |error| TransactionError::Envelope { error, at_mail };
        conn.command(&commands.mail)
            .await
            .map_err(envelope_failed(true))?;
        for rcpt in &commands.rcpts {
            conn.command(rcpt).await.map_err(envelope_failed(false))?;
        }
        conn.command(Data).await.map_err(envelope_failed(false))?;
        Ok(())
    }
}

/// The content of the transaction whose DATA got its 354, then its verdict. With `next` (only
/// on a session that pipelines), the next transaction's MAIL, RCPTs and DATA go in the same
/// write behind the final "." (RFC 2920 §3.1: only DATA must end a group, and the end of the
/// content is no command), and `Ok(Some(…))` says how that envelope fared: one round trip and
/// one write per message instead of two. The next envelope is read only once this message was
/// taken; when it was not, the session is dropped, and the next message has lost nothing but
/// its envelope, which no relay delivers without content.
pub(super) async fn content(
    session: &mut Session,
    transaction: &Transaction,
    next: Option<&Commands>,
) -> Result<Option<Result<(), TransactionError>>, TransactionError> {
    let conn = &mut session.conn;
    let content = Content(&transaction.content);
    // lettre's `message` writes the content and its final "." apart: one send more on each
    // side of the socket for every message (a third of the daemon's CPU went to `send`, perf).
    let Some(next) = next else {
        conn.command(content)
            .await
            .map_err(TransactionError::Content)?;
        return Ok(None);
    };
    conn.command(ContentThenGroup(content, Group(next)))
        .await
        .map_err(TransactionError::Content)?;
    // The next MAIL's reply is the first one still unread.
    let mail = conn.read_response().await;
    Ok(Some(envelope_replies(conn, next, mail).await))
}

/// Reads the replies to a pipelined MAIL, RCPTs and DATA in that order (RFC 2920 §3.1), MAIL's
/// (`mail`) already read: one round trip where there were 2 + recipients. Every reply is read
/// before deciding, and the first failure decides, as it would have stopped the transaction
/// unpipelined: a refused MAIL or RCPT then fails the message even if the relay goes on to
/// answer DATA with 354, and the content is never sent. Reading stops early only once the
/// session broke (no reply at all), since no further reply can come.
async fn envelope_replies(
    conn: &mut AsyncSmtpConnection,
    commands: &Commands,
    mail: Result<Response, LettreError>,
) -> Result<(), TransactionError> {
    let mut outcome = Ok(());
    let mut mail = Some(mail);
    // MAIL's, each RCPT's, DATA's.
    for reply in 0..commands.rcpts.len() + 2 {
        let answer = match mail.take() {
            Some(answer) => answer,
            None => conn.read_response().await,
        };
        if let Err(error) = answer {
            let broken = error.status().is_none();
            if outcome.is_ok() {
                outcome = Err(TransactionError::Envelope {
                    error,
                    at_mail: reply == 0,
                });
            }
            if broken {
                break;
            }
        }
    }
    outcome
}

/// A message's content as SMTP sends it after DATA's 354 (RFC 5321 §4.5.2): a "." added at the
/// start of every line that begins with one, then CRLF "." CRLF, which ends it. The same octets
/// as lettre's `message`, whose stuffing is private.
struct Content<'a>(&'a str);

impl fmt::Display for Content<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A line starts after CRLF, as in lettre's codec (a bare LF does not start one).
        let mut line_start = true;
        let mut after_cr = false;
        let mut from = 0;
        for (at, byte) in self.0.bytes().enumerate() {
            if byte == b'.' && line_start {
                f.write_str(&self.0[from..at])?;
                f.write_str(".")?;
                from = at;
            }
            line_start = after_cr && byte == b'\n';
            after_cr = byte == b'\r';
        }
        f.write_str(&self.0[from..])?;
        f.write_str("\r\n.\r\n")
    }
}

/// One message's content, then the next one's envelope, for one write.
struct ContentThenGroup<'a>(Content<'a>, Group<'a>);

impl fmt::Display for ContentThenGroup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.0, self.1)
    }
}

/// MAIL, the RCPTs and DATA as one text, for one write. lettre's commands each end with their
/// own CRLF, and `AsyncSmtpConnection::command` writes what it is given as it is.
struct Group<'a>(&'a Commands);

impl fmt::Display for Group<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.mail)?;
        for rcpt in &self.0.rcpts {
            write!(f, "{rcpt}")?;
        }
        write!(f, "{Data}")
    }
}

/// rustls's stream over our socket, as the boxed stream lettre takes (`AsyncTokioStream` asks
/// for the peer's address on top of tokio's I/O traits).
#[derive(Debug)]
struct ImplicitTls(TlsStream<TcpStream>);

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::Content;

    #[test]
    fn content_is_dot_stuffed_at_line_starts_and_ended_by_a_lone_dot() {
        let cases = [
            ("", "\r\n.\r\n"),
            (".", "..\r\n.\r\n"),
            ("Objet\r\n\r\nTexte", "Objet\r\n\r\nTexte\r\n.\r\n"),
            ("a\r\n.b\r\n..c\r\n", "a\r\n..b\r\n...c\r\n\r\n.\r\n"),
            // A dot inside a line, or after a bare LF or CR, starts no line.
            ("a.b\n.c\r.d", "a.b\n.c\r.d\r\n.\r\n"),
            ("a\r\r\n.b", "a\r\r\n..b\r\n.\r\n"),
            ("é\r\n.é", "é\r\n..é\r\n.\r\n"),
        ];
        for (text, sent) in cases {
            assert_eq!(Content(text).to_string(), sent, "{text:?}");
        }
    }
}
