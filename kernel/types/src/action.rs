//! The kernel's own audit actions: what its records of sign-ins, of
//! changes to users, tenants, members, roles, tokens, packages, plugins and
//! documents, and of events, say was done.
//!
//! A plugin's business records read `<plugin id>.<action>`, so no plugin id
//! may be the first part of a kernel action ([`reserves`]): its records
//! could pass for the kernel's. This list is the one place the kernel's
//! actions are named, and a kernel record takes an [`Action`], which only
//! this list makes: a new action is reserved the moment it exists.

use std::fmt;

/// One of the kernel's audit actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action(&'static str);

impl Action {
    /// The action's name, as its records read.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

macro_rules! actions {
    ($($name:ident = $text:literal,)*) => {
        $(#[doc = concat!("`", $text, "`")] pub const $name: Action = Action($text);)*
        /// Every kernel action.
        pub const ALL: &[Action] = &[$($name),*];
    };
}

actions! {
    AUTH_LOGIN = "auth.login",
    AUTH_LOGIN_FAILED = "auth.login-failed",
    AUTH_LOGOUT = "auth.logout",
    AUTH_SESSIONS_PRUNED = "auth.sessions-pruned",
    AUTH_SECOND_FACTOR = "auth.second-factor",
    TOTP_ENROL = "totp.enrol",
    TOTP_CONFIRM = "totp.confirm",
    TOTP_SEAL = "totp.seal",
    USER_CREATE = "user.create",
    USER_UPDATE = "user.update",
    USER_DELETE = "user.delete",
    MEMBER_SET = "member.set",
    ROLE_PUT = "role.put",
    ROLE_DELETE = "role.delete",
    SOD_PUT = "sod.put",
    SOD_DELETE = "sod.delete",
    TOKEN_CREATE = "token.create",
    TOKEN_REVOKE = "token.revoke",
    BACKUP_CREATE = "backup.create",
    TENANT_CREATE = "tenant.create",
    TENANT_RENAME = "tenant.rename",
    TENANT_QUOTA = "tenant.quota",
    TENANT_DELETE = "tenant.delete",
    PACKAGE_INSTALL = "package.install",
    PLUGIN_ENABLE = "plugin.enable",
    PLUGIN_UPGRADE = "plugin.upgrade",
    PLUGIN_DISABLE = "plugin.disable",
    PROVIDER_CHOOSE = "provider.choose",
    INTERFACE_CALL = "interface.call",
    RECORD_INSERT = "record.insert",
    RECORD_PUT = "record.put",
    RECORD_DELETE = "record.delete",
    RECORD_READ = "record.read",
    RECORD_RESEAL = "record.reseal",
    DATA_KEY_USE = "data-key.use",
    SEQUENCE_NEXT = "sequence.next",
    EVENT_PUBLISH = "event.publish",
    EVENT_DELIVER = "event.deliver",
    EVENT_RETRY = "event.retry",
    EVENT_DEAD_LETTER = "event.dead-letter",
    EVENT_REPLAY = "event.replay",
    EVENT_REPLAY_FAILED = "event.replay-failed",
    EVENT_PRUNE = "event.prune",
    WEBHOOK_CREATE = "webhook.create",
    WEBHOOK_UPDATE = "webhook.update",
    WEBHOOK_ROTATE_SECRET = "webhook.rotate-secret",
    WEBHOOK_DELETE = "webhook.delete",
    TIMER_SET = "timer.set",
    TIMER_CANCEL = "timer.cancel",
    TIMER_FIRE = "timer.fire",
    TIMER_RETRY = "timer.retry",
    TIMER_DEAD = "timer.dead",
    TIMER_DROP = "timer.drop",
    TIMER_REPLAY = "timer.replay",
    SCHEDULE_ARM = "schedule.arm",
    SCHEDULE_REMOVE = "schedule.remove",
    SCHEDULE_RUN = "schedule.run",
    SCHEDULE_RETRY = "schedule.retry",
    SCHEDULE_FAIL = "schedule.fail",
        SCHEDULE_NOW = "schedule.now",
    JOB_START = "job.start",
    JOB_STEP = "job.step",
    JOB_RETRY = "job.retry",
    JOB_FINISH = "job.finish",
    JOB_FAIL = "job.fail",
        JOB_CANCEL = "job.cancel",
    JOB_PRUNE = "job.prune",
    IMPORT_RUN = "import.run",
    IMPORT_CHECK = "import.check",
    IMPORT_MAPPING_PUT = "import.mapping-put",
    IMPORT_MAPPING_DELETE = "import.mapping-delete",
    REPORT_SAVE = "report.save",
    REPORT_DELETE = "report.delete",
    REPORT_SCHEDULE_PUT = "report.schedule-put",
    REPORT_SCHEDULE_DELETE = "report.schedule-delete",
    REPORT_SCHEDULE_NOW = "report.schedule-now",
    REPORT_SEND = "report.send",
    REPORT_SEND_RETRY = "report.send-retry",
    REPORT_SEND_FAIL = "report.send-fail",
    IDEMPOTENCY_KEEP = "idempotency.keep",
    IDEMPOTENCY_PRUNE = "idempotency.prune",
}

/// Whether `id` is the first part of a kernel action's name, which no
/// plugin id may be.
pub fn reserves(id: &str) -> bool {
    ALL.iter().any(|action| action.0.split_once('.').is_some_and(|(head, _)| head == id))
}

#[cfg(test)]
mod tests {
    use super::{ALL, reserves};

    #[test]
    fn every_action_is_unique_and_reserves_its_first_part() {
        let mut names: Vec<&str> = ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "an action is listed twice");
        for name in names {
            let (head, _) = name.split_once('.').expect("actions are dotted");
            assert!(reserves(head), "{name}");
        }
        assert!(!reserves("finance") && !reserves("event.publish") && !reserves(""));
    }
}
