//! Mail the kernel sends (scheduled reports, and notices of their failure)
//! goes through a [`Mailer`] the composition root gives the host, so
//! the host never holds a network client of its own: `keel-mail` sends
//! through an SMTP relay, or writes files for development. A leaf.

/// What sends mail, outside the host.
pub trait Mailer: Send + Sync {
    /// Refuses an address the mailer would not send to, saying why.
    fn check(&self, address: &str) -> Result<(), String>;

    /// Sends one message to every recipient, or fails saying why (what
    /// the relay answered, or that it could not be reached). Blocking.
    fn send(&self, mail: &Mail<'_>) -> Result<(), String>;
}

/// One message.
#[derive(Debug)]
pub struct Mail<'a> {
    pub to: &'a [String],
    pub subject: &'a str,
    /// The text of its body.
    pub text: &'a str,
    pub attachment: Option<Attachment<'a>>,
}

/// A file attached to a message.
#[derive(Debug)]
pub struct Attachment<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}
