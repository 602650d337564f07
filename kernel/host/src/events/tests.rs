//! The dispatcher's own tests: it never sleeps through work or a stop.

use super::{Dispatcher, Kind};
use keel_types::TenantId;
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// Runs `sleep` on a thread of its own and answers what it returned,
/// or None if it had not returned within a second.
fn sleep_answers(dispatcher: &Arc<Dispatcher>, wait: Duration) -> Option<bool> {
    let (sent, answer) = mpsc::channel();
    let dispatcher = Arc::clone(dispatcher);
    std::thread::spawn(move || sent.send(dispatcher.sleep(wait)));
    answer.recv_timeout(Duration::from_secs(1)).ok()
}

#[test]
fn the_dispatcher_never_sleeps_through_work_or_a_stop() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(
        keel_storage::Storage::open(&dir.path().join("keel.redb"), Default::default()).unwrap(),
    );
    let dispatcher = Arc::new(Dispatcher::new(&storage));
    let tenant = TenantId::new("acme").unwrap();

    // A tenant published while the dispatcher worked: it goes on at once.
    dispatcher.notify(&tenant);
    assert_eq!(sleep_answers(&dispatcher, Duration::from_secs(60)), Some(true));

    // That tenant's deliveries are running: it waits for them.
    dispatcher.state().running.insert((tenant.clone(), Kind::Plugins));
    dispatcher.state().running.insert((tenant.clone(), Kind::Webhooks));
    assert_eq!(sleep_answers(&dispatcher, Duration::from_millis(10)), Some(true));

    // Stopped while it worked: it ends instead of sleeping.
    dispatcher.state().stop = true;
    assert_eq!(sleep_answers(&dispatcher, Duration::from_secs(60)), Some(false));
}
