//! What a backup or a restore is doing, step by step, for whoever shows
//! it: `GET /admin/backups/progress` (and `keel backup create`) for a
//! backup the kernel makes, standard error for `keel restore`.

/// One look at a backup or a restore under way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// The backup's id.
    pub backup: String,
    pub step: Step,
    /// The file or audit chain the step is at, when it goes through several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// How far the step is, in its [`Step::unit`].
    pub done: u64,
    /// Of how much, when that is known before the step ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// The steps of a backup (sealing keys, copying the database, the
/// packages and their compiled code, checksums) and of a restore (copying files, checksums,
/// counting tables, verifying chains), in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    SealingKeys,
    CopyingDatabase,
    CopyingPackages,
    CopyingCompiledCode,
    Checksums,
    CopyingFiles,
    CountingTables,
    VerifyingChains,
}

impl Step {
    /// What its `done` and `total` count.
    pub fn unit(self) -> &'static str {
        match self {
            Step::SealingKeys => "keys",
            Step::CopyingDatabase | Step::CountingTables => "entries",
            Step::CopyingPackages | Step::CopyingCompiledCode => "files",
            Step::Checksums | Step::CopyingFiles => "bytes",
            Step::VerifyingChains => "chains",
        }
    }

    fn doing(self) -> &'static str {
        match self {
            Step::SealingKeys => "sealing the keys",
            Step::CopyingDatabase => "copying the database",
            Step::CopyingPackages => "copying the packages",
            Step::CopyingCompiledCode => "copying the packages' compiled code",
            Step::Checksums => "reading each file for its SHA-256",
            Step::CopyingFiles => "copying the files",
            Step::CountingTables => "counting what the database holds",
            Step::VerifyingChains => "checking every audit chain",
        }
    }
}

impl Progress {
    /// `backup 20261208T101500Z: copying the database, 120000 entries`;
    /// with a total, `…: copying the files, 45% (1.1 of 2.5 GB)`.
    pub fn line(&self) -> String {
        let amount = |n: u64| match self.step.unit() {
            "bytes" => bytes(n),
            unit => format!("{n} {unit}"),
        };
        let how_far = match self.total.filter(|total| *total > 0) {
            Some(total) => {
                let percent = u128::from(self.done.min(total)) * 100 / u128::from(total);
                format!("{percent}% ({} of {})", amount(self.done), amount(total))
            }
            None => amount(self.done),
        };
        let at = self.at.as_deref().map(|at| format!(" {at}")).unwrap_or_default();
        format!("backup {}: {}{at}, {how_far}", self.backup, self.step.doing())
    }
}

/// `512 B`, `3.4 MB`, `2.5 GB`: bytes as an operator reads them.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut scaled = n;
    let mut unit = 0;
    // Tenths of the unit, in integers: no float arithmetic.
    while scaled >= 1_000_000 && unit + 1 < UNITS.len() {
        scaled /= 1000;
        unit += 1;
    }
    format!("{}.{} {}", scaled / 1000, scaled % 1000 / 100, UNITS[unit])
}

/// Tells `show` of each step as it goes.
pub(crate) struct Reporter<'a> {
    show: &'a mut dyn FnMut(&Progress),
    progress: Progress,
}

impl<'a> Reporter<'a> {
    pub(crate) fn new(backup: &str, show: &'a mut dyn FnMut(&Progress)) -> Self {
        let progress = Progress {
            backup: backup.to_owned(),
            step: Step::SealingKeys,
            at: None,
            done: 0,
            total: None,
        };
        Self { show, progress }
    }

    /// Starts `step`, of `total` when known.
    pub(crate) fn step(&mut self, step: Step, total: Option<u64>) {
        self.progress = Progress { step, at: None, done: 0, total, ..self.progress.clone() };
        (self.show)(&self.progress);
    }

    /// The step moves on to `at` (a file, a chain).
    pub(crate) fn at(&mut self, at: &str) {
        self.progress.at = Some(at.to_owned());
        (self.show)(&self.progress);
    }

    /// `n` more done.
    pub(crate) fn add(&mut self, n: u64) {
        self.set(self.progress.done.saturating_add(n));
    }

    /// `done` done in all.
    pub(crate) fn set(&mut self, done: u64) {
        self.progress.done = done;
        (self.show)(&self.progress);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_the_step_and_how_far_in_its_unit() {
        let mut progress = Progress {
            backup: "20261208T101500Z".to_owned(),
            step: Step::CopyingDatabase,
            at: None,
            done: 120_000,
            total: None,
        };
        assert_eq!(
            progress.line(),
            "backup 20261208T101500Z: copying the database, 120000 entries"
        );
        progress.step = Step::CopyingFiles;
        progress.at = Some("keel.redb".to_owned());
        progress.done = 1_126_000_000;
        progress.total = Some(2_500_000_000);
        assert_eq!(
            progress.line(),
            "backup 20261208T101500Z: copying the files keel.redb, 45% (1.1 GB of 2.5 GB)"
        );
    }

    #[test]
    fn bytes_read_as_an_operator_reads_them() {
        assert_eq!(
            [0, 999, 1000, 1_234_567, 2_500_000_000, u64::MAX].map(bytes),
            ["0 B", "999 B", "1.0 kB", "1.2 MB", "2.5 GB", "18446744.0 TB"]
        );
    }
}
