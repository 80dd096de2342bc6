//! An epoll set over sockets' signalling fds, plus the two fds that make the set itself
//! a readiness fd for the caller's event loop: an eventfd (work left for the next
//! update) and a timerfd (the next heal deadline).

use std::ffi::c_int;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Tags of the poller's own fds, above any token the efunguz hands out; `wait` never
/// reports them.
const WAKE_TAG: u64 = u64::MAX;
const TIMER_TAG: u64 = u64::MAX - 1;
/// Events one wait may report besides the registered sockets: the eventfd and the timerfd.
const OWN_FDS: usize = 2;

/// An epoll set over sockets' signalling fds, each tagged with a token. The epoll fd is
/// readable whenever a socket in the set is, the wake flag is raised or the timer is due.
pub struct Poller {
    epfd: OwnedFd,
    /// Raised (counter above zero) while the efunguz has work no socket signals.
    wake: OwnedFd,
    woken: bool,
    /// Armed for the next heal deadline (CLOCK_REALTIME, absolute).
    timer: OwnedFd,
    /// The deadline the timer is armed for, µs since the Unix epoch; `None`: disarmed
    /// (or already expired and read).
    timer_due: Option<i64>,
    events: Vec<libc::epoll_event>,
}

/// Takes ownership of a new fd, or the error that failed to make it.
fn owned(fd: c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned open by the kernel and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Poller {
    /// An empty epoll set reporting up to `capacity` events per wait.
    pub fn new(capacity: usize) -> io::Result<Self> {
        // SAFETY: epoll_create1 takes no pointers; `owned` checks the result.
        let epfd = owned(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: eventfd takes no pointers; `owned` checks the result.
        let wake = owned(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: timerfd_create takes no pointers; `owned` checks the result.
        let timer =
            owned(unsafe { libc::timerfd_create(libc::CLOCK_REALTIME, libc::TFD_CLOEXEC | libc::TFD_NONBLOCK) })?;
        let events = vec![libc::epoll_event { events: 0, u64: 0 }; capacity.max(1) + OWN_FDS];
        let p = Poller { epfd, wake, woken: false, timer, timer_due: None, events };
        p.add(p.wake.as_raw_fd(), WAKE_TAG)?;
        p.add(p.timer.as_raw_fd(), TIMER_TAG)?;
        Ok(p)
    }

    /// Watches `fd` for readability, reporting it as `token`.
    pub fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: token };
        // SAFETY: `ev` is a valid epoll_event that lives across the call, which only
        // reads it; `epfd` is our open epoll fd. A bad `fd` is reported as an error.
        if unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Must run before the socket owning `fd` is closed: libzmq closes the fd
    /// asynchronously and its number may be reused by then.
    pub fn remove(&self, fd: RawFd) {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: as in `add`; kernels before 2.6.9 require a non-null event even for
        // EPOLL_CTL_DEL, so one is passed. An fd not in the set only yields ENOENT.
        unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }

    /// Waits up to `timeout_ms` (0 = just look, -1 = forever) and appends the tokens
    /// of ready sockets to `out`. Returns how many; an interrupted wait counts as none.
    /// A due timer is read (so it stops being ready) and not reported: the caller looks
    /// at its deadlines on every round anyway; nor is the wake flag, which the caller
    /// lowers with [`Poller::set_woken`].
    pub fn wait(&mut self, timeout_ms: i32, out: &mut Vec<u64>) -> io::Result<usize> {
        let capacity = c_int::try_from(self.events.len()).unwrap_or(c_int::MAX);
        // SAFETY: the kernel writes at most `capacity` events, and `events` holds at
        // least that many initialised entries, borrowed mutably for the call.
        let n = unsafe { libc::epoll_wait(self.epfd.as_raw_fd(), self.events.as_mut_ptr(), capacity, timeout_ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::EINTR) { Ok(0) } else { Err(e) };
        }
        let before = out.len();
        let mut timer_fired = false;
        for e in &self.events[..n as usize] {
            match e.u64 {
                TIMER_TAG => timer_fired = true,
                WAKE_TAG => {}
                tag => out.push(tag),
            }
        }
        if timer_fired {
            self.read_timer();
        }
        Ok(out.len() - before)
    }

    /// Makes room for `n` ready sockets per wait.
    pub fn reserve(&mut self, n: usize) {
        let n = n + OWN_FDS;
        if self.events.len() < n {
            self.events.resize(n.next_power_of_two(), libc::epoll_event { events: 0, u64: 0 });
        }
    }

    /// Raises or lowers the wake flag. A raise always writes, so that an edge-triggered
    /// watcher of the epoll fd sees a new edge even when the flag was already up (work
    /// is left after an update that reported nothing); a lower costs a syscall only
    /// when the flag was up.
    pub fn set_woken(&mut self, woken: bool) {
        if woken {
            let one: u64 = 1;
            // SAFETY: writes the 8 bytes of `one`, which outlives the call. It only fails
            // when the counter would overflow (then the flag is up already).
            unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
        } else if self.woken {
            let mut count: u64 = 0;
            // SAFETY: reads at most 8 bytes into `count`, borrowed mutably for the call;
            // the fd is non-blocking, so an already lowered flag gives EAGAIN.
            unsafe { libc::read(self.wake.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
        }
        self.woken = woken;
    }

    /// Raises the wake flag unless it is up already (then it costs nothing).
    pub fn wake(&mut self) {
        if !self.woken {
            self.set_woken(true);
        }
    }

    /// Arms the timer for `due` (µs since the Unix epoch; `None` disarms it). A syscall
    /// only when the deadline differs from the armed one.
    pub fn arm_timer(&mut self, due: Option<i64>) {
        if due == self.timer_due {
            return;
        }
        let mut spec: libc::itimerspec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec { tv_sec: 0, tv_nsec: 0 },
        };
        if let Some(us) = due {
            // Zero would disarm: a deadline at or before the epoch is simply due now.
            let us = us.max(1);
            spec.it_value.tv_sec = (us / 1_000_000) as libc::time_t;
            spec.it_value.tv_nsec = ((us % 1_000_000) * 1000) as libc::c_long;
        }
        // SAFETY: `spec` is a valid itimerspec read during the call; a null old value is
        // allowed. Arming also resets the expiry count, so a stale expiry stops being ready.
        let rc = unsafe {
            libc::timerfd_settime(self.timer.as_raw_fd(), libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut())
        };
        // On failure the deadline stays unknown, so the next call tries again.
        self.timer_due = if rc == 0 { due } else { None };
    }

    fn read_timer(&mut self) {
        let mut count: u64 = 0;
        // SAFETY: as in `set_woken`: at most 8 bytes into `count`, non-blocking.
        unsafe { libc::read(self.timer.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
        self.timer_due = None;
    }
}

impl AsFd for Poller {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epfd.as_fd()
    }
}
