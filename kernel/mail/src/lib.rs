//! The kernel's outbound mail, the one owner of `lettre`: the host's
//! [`Mailer`] implemented two ways.
//!
//! - [`SmtpMailer`]: through an SMTP relay, always upgraded with STARTTLS
//!   (a relay that does not offer it, or whose certificate does not verify
//!   against the webpki roots and any root the operator adds, is not sent
//!   to: there is no plain-text fallback), with a timeout on every step.
//! - [`DirMailer`]: each message written whole as an `.eml` file into a
//!   directory, for development (`cargo xtask run`) where there is no relay;
//!   any mail client opens the files.

use std::path::PathBuf;
use std::time::Duration;

use keel_host::{Mail, Mailer};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

/// How long one step of talking to the relay may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);
/// Most recipients of one message.
pub const RECIPIENTS_MAX: usize = 50;

/// Where and as whom the kernel sends mail through a relay.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// The relay's host name, as its certificate names it.
    pub host: String,
    /// Its submission port: 587 unless given.
    pub port: u16,
    /// The sender of every message, such as `Keel <keel@example.com>`.
    pub from: String,
    /// A user name and password, if the relay wants them.
    pub credentials: Option<(String, String)>,
    /// PEM certificates to trust besides the webpki roots (an internal
    /// relay's own authority).
    pub extra_roots_pem: Option<Vec<u8>>,
}

/// Sends through an SMTP relay over STARTTLS.
pub struct SmtpMailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `config`; fails, saying why, on a sender that is not
    /// an address or roots that do not read.
    pub fn new(config: &SmtpConfig) -> Result<Self, String> {
        let from = config
            .from
            .parse::<Mailbox>()
            .map_err(|err| format!("the mail sender {:?} is not an address: {err}", config.from))?;
        let mut tls = TlsParameters::builder(config.host.clone());
        if let Some(pem) = &config.extra_roots_pem {
            let root = Certificate::from_pem(pem)
                .map_err(|err| format!("the relay's root certificate does not read: {err}"))?;
            tls = tls.add_root_certificate(root);
        }
        let tls = tls.build_rustls().map_err(|err| format!("mail TLS cannot be set up: {err}"))?;
        let mut transport = SmtpTransport::builder_dangerous(&config.host)
            .port(config.port)
            .tls(Tls::Required(tls))
            .timeout(Some(SMTP_TIMEOUT));
        if let Some((user, password)) = &config.credentials {
            transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self { transport: transport.build(), from })
    }
}

impl Mailer for SmtpMailer {
    fn check(&self, address: &str) -> Result<(), String> {
        check(address)
    }

    fn send(&self, mail: &Mail<'_>) -> Result<(), String> {
        let message = message(&self.from, mail)?;
        self.transport.send(&message).map(drop).map_err(|err| format!("the mail relay: {err}"))
    }
}

/// Writes each message as an `.eml` file into a directory.
pub struct DirMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl DirMailer {
    /// A mailer writing into `dir` (created if missing) as `from`.
    pub fn new(dir: PathBuf, from: &str) -> Result<Self, String> {
        let from =
            from.parse::<Mailbox>().map_err(|err| format!("the mail sender {from:?}: {err}"))?;
        std::fs::create_dir_all(&dir)
            .map_err(|err| format!("cannot create the mail directory {}: {err}", dir.display()))?;
        Ok(Self { dir, from })
    }
}

impl Mailer for DirMailer {
    fn check(&self, address: &str) -> Result<(), String> {
        check(address)
    }

    fn send(&self, mail: &Mail<'_>) -> Result<(), String> {
        let message = message(&self.from, mail)?;
        let path = self.dir.join(format!("{}.eml", uuid::Uuid::now_v7()));
        std::fs::write(&path, message.formatted())
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        tracing::info!(path = %path.display(), to = ?mail.to, "mail written");
        Ok(())
    }
}

fn check(address: &str) -> Result<(), String> {
    address
        .parse::<lettre::Address>()
        .map(drop)
        .map_err(|err| format!("{address:?} is not an email address: {err}"))
}

/// The message `mail` describes, from `from`.
fn message(from: &Mailbox, mail: &Mail<'_>) -> Result<Message, String> {
    if mail.to.is_empty() || mail.to.len() > RECIPIENTS_MAX {
        return Err(format!("a message goes to 1 to {RECIPIENTS_MAX} recipients"));
    }
    let mut builder = Message::builder().from(from.clone()).subject(mail.subject);
    for to in mail.to {
        let to = to.parse::<Mailbox>().map_err(|err| format!("{to:?}: {err}"))?;
        builder = builder.to(to);
    }
    let text = SinglePart::plain(mail.text.to_owned());
    let built = match &mail.attachment {
        None => builder.singlepart(text),
        Some(file) => {
            let kind = ContentType::parse(file.content_type)
                .map_err(|err| format!("{:?}: {err}", file.content_type))?;
            let attached = Attachment::new(file.name.to_owned()).body(file.bytes.to_vec(), kind);
            builder.multipart(MultiPart::mixed().singlepart(text).singlepart(attached))
        }
    };
    built.map_err(|err| format!("the message cannot be built: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_carries_its_attachment_and_refuses_bad_recipients() {
        let dir = std::env::temp_dir().join(format!("keel-mail-{}", uuid::Uuid::now_v7()));
        let mailer = DirMailer::new(dir.clone(), "Keel <keel@example.com>").unwrap();
        let to = ["cfo@example.com".to_owned()];
        let file = keel_host::Attachment {
            name: "movements.csv",
            content_type: "text/csv; charset=utf-8",
            bytes: b"account,debits\r\n1100,10000\r\n",
        };
        let mail = Mail { to: &to, subject: "Weekly", text: "Attached.", attachment: Some(file) };
        mailer.send(&mail).unwrap();
        let written: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        let text = std::fs::read_to_string(written[0].path()).unwrap();
        assert!(text.contains("To: cfo@example.com") && text.contains("Subject: Weekly"), "{text}");
        assert!(text.contains("filename=\"movements.csv\""), "{text}");
        assert!(mailer.check("not an address").is_err() && mailer.check("a@b.example").is_ok());
        let nobody = Mail { to: &[], subject: "x", text: "x", attachment: None };
        assert!(mailer.send(&nobody).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
