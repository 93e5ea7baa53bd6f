//! The three libc calls xtask needs, declared by hand so xtask stays dependency-free.

use std::sync::atomic::{AtomicUsize, Ordering};

pub const SIGINT: i32 = 2;
pub const SIGKILL: i32 = 9;

unsafe extern "C" {
    fn signal(signum: i32, handler: usize) -> usize;
    fn kill(pid: i32, sig: i32) -> i32;
    fn geteuid() -> u32;
}

static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_interrupt(_signum: i32) {
    // Only an atomic add: the one kind of work that is safe inside a signal handler.
    INTERRUPTS.fetch_add(1, Ordering::SeqCst);
}

/// Counts Ctrl+C instead of dying, so xtask can wait for its child to shut down cleanly.
/// A handler (unlike SIG_IGN) is reset by exec, so children still get the default action.
pub fn count_interrupts() {
    let handler: extern "C" fn(i32) = count_interrupt;
    // SAFETY: installs a handler that only touches an atomic.
    unsafe {
        signal(SIGINT, handler as usize);
    }
}

/// How many SIGINTs arrived since `count_interrupts`.
pub fn interrupts() -> usize {
    INTERRUPTS.load(Ordering::SeqCst)
}

pub fn send_signal(pid: u32, sig: i32) {
    // SAFETY: plain syscall; a stale pid at worst yields ESRCH, which we ignore.
    unsafe {
        kill(pid as i32, sig);
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { geteuid() == 0 }
}
