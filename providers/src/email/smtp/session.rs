//! One SMTP session on a socket of our own (TCP_NODELAY, then TLS, EHLO, STARTTLS, AUTH) and one
//! mail transaction on it, pipelined when the relay offers it (RFC 2920). lettre speaks the
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

/// One mail transaction: lettre's `AsyncSmtpConnection::send`, command by command, so that a
/// failure says which step it came from (see [`TransactionError`]). After a failure the session
/// must not be reused: a pipelined one may be waiting for content it will never get.
pub(super) async fn transact(
    session: &mut Session,
    envelope: &Envelope,
    email: &[u8],
) -> Result<(), TransactionError> {
    let conn = &mut session.conn;
    // The checks lettre makes, in its order and with its words.
    let mut options = Vec::new();
    let mut addresses = envelope.from().into_iter().chain(envelope.to());
    if addresses.any(|a| !AsRef::<str>::as_ref(a).is_ascii()) {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(TransactionError::Client(
                "Envelope contains non-ascii chars but server does not support SMTPUTF8",
            ));
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    if !email.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(TransactionError::Client(
                "Message contains non-ascii chars but server does not support 8BITMIME",
            ));
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let mail = Mail::new(envelope.from().cloned(), options);
    let rcpts: Vec<Rcpt> = envelope
        .to()
        .iter()
        .map(|to| Rcpt::new(to.clone(), Vec::new()))
        .collect();
    if session.pipelining {
        pipelined_envelope(conn, &mail, &rcpts).await?;
    } else {
        let envelope_failed = |at_mail| move |error| TransactionError::Envelope { error, at_mail };
        conn.command(&mail).await.map_err(envelope_failed(true))?;
        for rcpt in &rcpts {
            conn.command(rcpt).await.map_err(envelope_failed(false))?;
        }
        conn.command(Data).await.map_err(envelope_failed(false))?;
    }
    // The content and its final "." in one write: lettre's `message` writes them apart, which
    // costs a send on each side of the socket for every message (a third of the daemon's CPU
    // went to `send` when sending e-mail, perf).
    match std::str::from_utf8(email) {
        Ok(text) => conn.command(Content(text)).await,
        // Never from lettre's builder, which writes UTF-8 only; lettre's way still works.
        Err(_) => conn.message(email).await,
    }
    .map_err(TransactionError::Content)?;
    Ok(())
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

/// MAIL, every RCPT and DATA in one write, then their replies in that order (RFC 2920 §3.1):
/// one round trip where there were 2 + recipients. Every reply is read before deciding, and
/// the first failure decides, as it would have stopped the transaction unpipelined: a refused
/// MAIL or RCPT then fails the message even if the relay goes on to answer DATA with 354, and
/// the content is never sent. Reading stops early only once the session broke (no reply at
/// all), since no further reply can come.
async fn pipelined_envelope(
    conn: &mut AsyncSmtpConnection,
    mail: &Mail,
    rcpts: &[Rcpt],
) -> Result<(), TransactionError> {
    let group = Group { mail, rcpts };
    let mut outcome = Ok(());
    // MAIL's, each RCPT's, DATA's.
    for reply in 0..rcpts.len() + 2 {
        let at_mail = reply == 0;
        // `command` writes the whole group at once, flushes it, and reads MAIL's reply.
        let answer = if at_mail {
            conn.command(&group).await
        } else {
            conn.read_response().await
        };
        if let Err(error) = answer {
            let broken = error.status().is_none();
            if outcome.is_ok() {
                outcome = Err(TransactionError::Envelope { error, at_mail });
            }
            if broken {
                break;
            }
        }
    }
    outcome
}

/// MAIL, the RCPTs and DATA as one text, for one write. lettre's commands each end with their
/// own CRLF, and `AsyncSmtpConnection::command` writes what it is given as it is.
struct Group<'a> {
    mail: &'a Mail,
    rcpts: &'a [Rcpt],
}

impl fmt::Display for Group<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.mail)?;
        for rcpt in self.rcpts {
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
