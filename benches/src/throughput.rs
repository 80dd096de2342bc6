//! Throughput (`emz-bench sub --mode thr`): etales that arrive per second, and those the
//! publisher dropped, counted by the sequence numbers they carry.

use crate::output::{die, out};
use crate::roles::{seq_of, Sub};
use std::time::{Duration, Instant};

pub fn measure(s: &mut dyn Sub, secs: f64, warm: f64) {
    let mut last: Option<u64> = None;
    let mut size = 0usize;
    let t0 = Instant::now();
    while last.is_none() {
        if t0.elapsed() > Duration::from_secs(20) {
            die("no etale b within 20 s");
        }
        s.poll(0, &mut |t, _, p| {
            if t == b"b" {
                last = Some(seq_of(p));
                size = p.len();
            }
        });
    }
    let warm_end = Instant::now() + Duration::from_secs_f64(warm);
    while Instant::now() < warm_end {
        s.poll(10, &mut |t, _, p| {
            if t == b"b" {
                last = Some(seq_of(p))
            }
        });
    }
    let (r0, s0) = (s.received_b(), last.unwrap());
    let t0 = Instant::now();
    let dur = Duration::from_secs_f64(secs);
    let mut sum = 0u64;
    while t0.elapsed() < dur {
        // Sleep when nothing is waiting, as a consumer would: a spinning one takes
        // a core share from the I/O threads (2 cores, 4 busy threads).
        s.poll(10, &mut |t, _, p| {
            if t == b"b" {
                last = Some(seq_of(p));
                // Look at the data as an application would (first and last byte).
                sum = sum.wrapping_add(u64::from(p[p.len() - 1]));
            }
        });
    }
    let el = t0.elapsed().as_secs_f64();
    std::hint::black_box(sum);
    let (r1, s1) = (s.received_b(), last.unwrap());
    let n = r1 - r0;
    let span = s1.saturating_sub(s0);
    let dropped = span.saturating_sub(n);
    out(&format!(
        "{{\"recv\":{n},\"secs\":{el:.4},\"per_s\":{:.1},\"mb_s\":{:.2},\"size\":{size},\"dropped\":{dropped},\"drop_frac\":{:.4}}}",
        n as f64 / el,
        n as f64 * size as f64 / el / 1e6,
        if span > 0 { dropped as f64 / span as f64 } else { 0.0 }
    ));
}
