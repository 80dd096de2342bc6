//! An epoll set over sockets' signalling fds.

use std::ffi::c_int;
use std::io;
use std::os::fd::RawFd;

/// An epoll set over sockets' signalling fds, each tagged with a token.
pub struct Poller {
    /// Owned: opened by `new`, closed once by `drop`.
    epfd: RawFd,
    events: Vec<libc::epoll_event>,
}

impl Poller {
    /// An empty epoll set reporting up to `capacity` events per wait.
    pub fn new(capacity: usize) -> io::Result<Self> {
        // SAFETY: epoll_create1 takes no pointers; a negative result is checked below.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return Err(io::Error::last_os_error());
        }
        let events = vec![libc::epoll_event { events: 0, u64: 0 }; capacity.max(1)];
        Ok(Poller { epfd, events })
    }

    /// Watches `fd` for readability, reporting it as `token`.
    pub fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: token };
        // SAFETY: `ev` is a valid epoll_event that lives across the call, which only
        // reads it; `epfd` is our open epoll fd. A bad `fd` is reported as an error.
        if unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
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
        unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }

    /// Waits up to `timeout_ms` (0 = just look, -1 = forever) and appends the tokens
    /// of ready fds to `out`. Returns how many; an interrupted wait counts as none.
    pub fn wait(&mut self, timeout_ms: i32, out: &mut Vec<u64>) -> io::Result<usize> {
        let capacity = c_int::try_from(self.events.len()).unwrap_or(c_int::MAX);
        // SAFETY: the kernel writes at most `capacity` events, and `events` holds at
        // least that many initialised entries, borrowed mutably for the call.
        let n = unsafe { libc::epoll_wait(self.epfd, self.events.as_mut_ptr(), capacity, timeout_ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::EINTR) { Ok(0) } else { Err(e) };
        }
        let n = n as usize;
        out.extend(self.events[..n].iter().map(|e| e.u64));
        Ok(n)
    }

    /// Makes room for `n` ready events per wait.
    pub fn reserve(&mut self, n: usize) {
        if self.events.len() < n {
            self.events.resize(n.next_power_of_two(), libc::epoll_event { events: 0, u64: 0 });
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        // SAFETY: `epfd` is owned by this Poller and closed only here, once.
        unsafe { libc::close(self.epfd) };
    }
}
