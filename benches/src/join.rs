//! A late joiner (`emz-bench join-sub`): how long until it holds the publisher's value.

use crate::baseline::{raw_recv, raw_sub_socket};
use crate::cli::Args;
use crate::output::{die, median, out};
use crate::roles::HOST;
use emyzelium::raw::{Context, Msg};
use emyzelium::{new_key_pair, now_us, Efunguz, EhyphaState};
use std::time::{Duration, Instant};

pub const ZMQ_PAIR: i32 = 0;
pub const ZMQ_EVENT_HANDSHAKE_SUCCEEDED: u16 = 0x1000;

pub fn role_join_sub(a: &Args) {
    let imp = a.s("impl", "emz");
    let pubkey = a.req("pubkey");
    let port: u16 = a.n("port", 0);
    let rounds: usize = a.n("rounds", 20);
    let (mut join, mut hs, mut after, mut rtt) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        let (_, secret) = new_key_pair().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let (t0, t_hs, t1);
        if imp == "emz" {
            let mut ef = Efunguz::builder(&secret).bind_host(HOST).any_port().build().unwrap();
            ef.update().unwrap();
            t0 = now_us();
            ef.add_ehypha_direct(&pubkey, HOST, port).unwrap().add_etale("v").unwrap();
            loop {
                ef.update().unwrap();
                let eh = ef.get_ehypha(&pubkey).unwrap();
                if eh.get_etale("v").unwrap().received() > 0 {
                    t1 = now_us();
                    // When the update saw the handshake succeed (the monitor's event).
                    t_hs = if eh.state() == EhyphaState::Up { eh.state_since() } else { t1 };
                    break;
                }
                if Instant::now() > deadline {
                    die("late joiner got nothing within 10 s");
                }
            }
            // One round trip on the live connection, same processes, same loops:
            // subscribe to the other held title and wait for its value.
            let t2 = now_us();
            ef.get_ehypha_mut(&pubkey).unwrap().add_etale("r").unwrap();
            loop {
                ef.update().unwrap();
                if ef.get_ehypha(&pubkey).unwrap().get_etale("r").unwrap().received() > 0 {
                    rtt.push((now_us() - t2) as f64);
                    break;
                }
                if Instant::now() > deadline {
                    die("no value for a second title within 10 s");
                }
            }
        } else {
            let ctx = Context::new().unwrap();
            let s = raw_sub_socket(&ctx, &secret, &pubkey, &["v"]);
            let ep = format!("inproc://mon{r}");
            s.monitor(&ep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED).unwrap();
            let mon = ctx.socket(ZMQ_PAIR).unwrap();
            mon.connect(&ep).unwrap();
            let (mut frames, mut extra) = (vec![Msg::new(), Msg::new(), Msg::new()], Msg::new());
            let mut ev = (Msg::new(), Msg::new());
            t0 = now_us();
            s.connect(&format!("tcp://{HOST}:{port}")).unwrap();
            let mut hs_at = None;
            loop {
                if mon.recv(&mut ev.0).unwrap() {
                    while ev.0.more() {
                        mon.recv(&mut ev.1).unwrap();
                        if !ev.1.more() {
                            break;
                        }
                    }
                    hs_at.get_or_insert(now_us());
                }
                if raw_recv(&s, &mut frames, &mut extra).is_some() {
                    t1 = now_us();
                    // Monitor events come before data; read it if still queued.
                    if hs_at.is_none() && mon.recv(&mut ev.0).unwrap() {
                        hs_at = Some(t1);
                    }
                    t_hs = hs_at.unwrap_or(t1);
                    break;
                }
                if Instant::now() > deadline {
                    die("raw late joiner got nothing within 10 s");
                }
            }
            s.stop_monitor();
        }
        join.push((t1 - t0) as f64);
        hs.push((t_hs - t0) as f64);
        after.push((t1 - t_hs) as f64);
    }
    let mx = |v: &Vec<f64>| v.iter().cloned().fold(f64::MIN, f64::max);
    out(&format!(
        "{{\"rounds\":{rounds},\"join_us\":{:.1},\"handshake_us\":{:.1},\"after_handshake_us\":{:.1},\"after_handshake_max_us\":{:.1},\"join_max_us\":{:.1}{}}}",
        median(join.clone()),
        median(hs),
        median(after.clone()),
        mx(&after),
        mx(&join),
        if rtt.is_empty() { String::new() } else { format!(",\"rtt_us\":{:.1}", median(rtt)) }
    ));
    std::process::exit(0);
}
