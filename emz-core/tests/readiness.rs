//! The efunguz as a readiness fd: a loop that only sleeps in poll(2) on it and calls
//! `update()` when it is readable gets everything, heals, sees narrowing, and never
//! spins. Also runs the tokio example (`examples/tokio_subscriber.rs`) against a publisher.
mod common;
use common::*;
use emyzelium::{Efunguz, EhyphaState};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "../examples/tokio_subscriber.rs"]
mod tokio_subscriber;

/// Whether `ef`'s fd is readable within `timeout_ms` (0: right now).
fn readable(ef: &Efunguz, timeout_ms: i32) -> bool {
    let mut pfd = libc::pollfd { fd: ef.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, borrowed mutably for the call.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    n == 1 && pfd.revents & libc::POLLIN != 0
}

/// The readiness-driven loop for `duration`: sleeps in poll until the fd is readable,
/// then calls `update()` once; `each` sees every change and may stop the loop.
/// Returns the number of wakeups.
fn drive(ef: &mut Efunguz, duration: Duration, mut each: impl FnMut(&Efunguz) -> bool) -> usize {
    let t0 = Instant::now();
    let mut wakeups = 0;
    while let Some(left) = duration.checked_sub(t0.elapsed()) {
        if !readable(ef, left.as_millis().min(i32::MAX as u128) as i32 + 1) {
            continue;
        }
        wakeups += 1;
        ef.update().unwrap();
        if each(ef) {
            break;
        }
    }
    wakeups
}

/// A publisher in its own thread, driven by `update()` every millisecond, running `step`
/// each time until the flag is set (or the test's time is up).
fn publisher(
    mut ef: Efunguz,
    mut step: impl FnMut(&mut Efunguz) + Send + 'static,
) -> (Arc<AtomicBool>, JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        let t0 = Instant::now();
        while !flag.load(Ordering::Relaxed) && t0.elapsed() < 3 * T {
            step(&mut ef);
            ef.update().unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    (stop, handle)
}

fn stop(p: (Arc<AtomicBool>, JoinHandle<()>)) {
    p.0.store(true, Ordering::Relaxed);
    p.1.join().unwrap();
}

const TITLES: usize = 40;

#[test]
fn poll_loop_receives_everything_then_stays_quiet() {
    let (ka, kb) = (keys(), keys());
    let a = efunguz(&ka);
    let port = a.port();
    // Each title once, a few ms apart, then the last one again and again.
    let mut i = 0;
    let pub_thread = publisher(a, move |ef| {
        if i < TITLES {
            ef.emit_etale(&format!("t{i}"), &[i.to_le_bytes()]).unwrap();
            i += 1;
        }
    });
    let mut b = efunguz(&kb);
    assert_eq!(b.as_fd().as_raw_fd(), b.as_raw_fd());
    let eh = b.add_ehypha_direct(&ka.public, "127.0.0.1", port).unwrap();
    for t in 0..TITLES {
        eh.add_etale(&format!("t{t}")).unwrap();
    }
    assert!(readable(&b, 0), "a new ehypha is work for update()");
    let mut got = vec![false; TITLES];
    drive(&mut b, T, |ef| {
        for c in ef.changes() {
            let t: usize = c.title[1..].parse().unwrap();
            let parts = ef.get_ehypha(&c.public_key).unwrap().get_etale(&c.title).unwrap().parts();
            assert_eq!(&parts[0][..], &t.to_le_bytes()[..]);
            got[t] = true;
        }
        got.iter().all(|&g| g)
    });
    assert!(got.iter().all(|&g| g), "titles missing: {got:?}");

    // Drained, and the publisher alive but silent: no wakeup over a second but for
    // stragglers, none of which leaves the fd readable after its update.
    let mut changes = 0;
    let wakeups = drive(&mut b, Duration::from_secs(1), |ef| {
        changes += ef.changes().len();
        assert!(!readable(ef, 0), "readable right after an update that did everything");
        false
    });
    stop(pub_thread);
    assert_eq!(changes, 0);
    assert!(wakeups <= 2, "{wakeups} wakeups in an idle second");
}

#[test]
fn poll_loop_heals_a_rejected_ehypha() {
    let (ka, kb, kc) = (keys(), keys(), keys());
    // A admits only C at first: B is rejected, and libzmq never retries that by itself.
    let a = builder(&ka).whitelist([kc.public.as_str()]).build().unwrap();
    let port = a.port();
    let (admit, admitted) = mpsc::channel::<String>();
    let pub_thread = publisher(a, move |ef| {
        if let Ok(key) = admitted.try_recv() {
            ef.add_whitelist_key(&key).unwrap();
        }
        ef.emit_etale("t", &[b"healed"]).unwrap();
    });
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", port).unwrap().add_etale("t").unwrap();
    let state = |ef: &Efunguz| ef.get_ehypha(&ka.public).unwrap().state();
    let mut wakeups = drive(&mut b, T, |ef| state(ef) == EhyphaState::Rejected);
    assert_eq!(state(&b), EhyphaState::Rejected);
    admit.send(kb.public.clone()).unwrap();
    // Nothing on the wire wakes B now: only its heal timer does.
    let t0 = Instant::now();
    let mut arrived = false;
    wakeups += drive(&mut b, T, |ef| {
        arrived = !ef.changes().is_empty();
        arrived
    });
    stop(pub_thread);
    assert!(arrived, "B never healed: {:?}", state(&b));
    // The reconnect backoff cap of the test builder is 200 ms.
    assert!(t0.elapsed() < Duration::from_secs(3), "healed only after {:?}", t0.elapsed());
    assert!(wakeups < 200, "{wakeups} wakeups: the loop spins");
}

#[test]
fn narrowing_and_emitting_make_the_fd_readable() {
    let (ka, kb) = (keys(), keys());
    let mut a = builder(&ka).whitelist([kb.public.as_str()]).build().unwrap();
    drive(&mut a, Duration::from_millis(100), |_| false);
    assert!(!readable(&a, 0));
    a.emit_etale("t", &[b"x"]).unwrap();
    assert!(readable(&a, 0), "after an emit, update() looks at the publish socket");
    a.update().unwrap();
    assert!(!readable(&a, 0));
    a.del_whitelist_key(&kb.public).unwrap();
    assert!(readable(&a, 0), "narrowed access is work for update()");
    a.update().unwrap();
    // Re-creating the publish socket may bring monitor events; they are work too, and
    // once done the fd goes quiet.
    drive(&mut a, Duration::from_millis(200), |_| false);
    assert!(!readable(&a, 0));
}

#[test]
fn tokio_example_receives_from_a_publisher() {
    let ka = keys();
    let a = efunguz(&ka);
    let port = a.port();
    let pub_thread = publisher(a, |ef| {
        ef.emit_etale("zone", &[b"tokio".as_slice(), b"!"]).unwrap();
    });
    let n = tokio_subscriber::run(&ka.public, &format!("127.0.0.1:{port}"), "zone", 2.0).unwrap();
    stop(pub_thread);
    assert!(n >= 10, "the tokio subscriber got {n} etales in 2 s");
}
