//! The C ABI's argument handling: arbitrary bytes become the arguments of a sequence of
//! calls (keys, titles, hosts, ports, option values, part lists with their lengths, NULLs)
//! on one efunguz bound to 127.0.0.1. Every call must answer with a result code, never
//! with a panic (`EMZ_ERR_PANIC`), a crash or a leak. Only what a C caller can get wrong
//! detectably is fuzzed: NULLs, bad strings and numbers; a pointer is never wild.
#![no_main]

use emz_capi::*;
use libfuzzer_sys::fuzz_target;
use std::ffi::{c_char, CString};
use std::ptr;

/// Reads the input front to back; past its end every read is zero.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u64(&mut self) -> u64 {
        let mut b = [0; 8];
        b.iter_mut().for_each(|x| *x = self.byte());
        u64::from_le_bytes(b)
    }

    /// A number that is often near the edges: small, a power of two, or anything.
    fn number(&mut self) -> u64 {
        match self.byte() % 4 {
            0 => u64::from(self.byte()),
            1 => 1u64 << (self.byte() % 64),
            2 => (1u64 << (self.byte() % 64)).wrapping_sub(1),
            _ => self.u64(),
        }
    }

    /// Up to 255 bytes, cut at the first NUL (a C string holds none).
    fn bytes(&mut self) -> Vec<u8> {
        let n = usize::from(self.byte()).min(self.0.len());
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        s.iter().copied().take_while(|&b| b != 0).collect()
    }

    /// A C string, or None for NULL (one time in eight).
    fn string(&mut self) -> Option<CString> {
        if self.byte() % 8 == 0 {
            None
        } else {
            Some(CString::new(self.bytes()).expect("no NUL"))
        }
    }

    /// A key: NULL, a valid one of `keys`, or fuzzed text.
    fn key(&mut self, keys: &[CString]) -> Option<CString> {
        match self.byte() % 4 {
            0 | 1 => Some(keys[usize::from(self.byte()) % keys.len()].clone()),
            _ => self.string(),
        }
    }

    /// A loopback host, maybe with fuzzed text after it (invalid, or 127.0.0.1x).
    fn host(&mut self) -> Option<CString> {
        match self.byte() % 4 {
            0 => None,
            1 => Some(CString::new("127.0.0.1").expect("no NUL")),
            _ => Some(CString::new([b"127.0.0.1".as_slice(), &self.bytes()].concat()).expect("no NUL")),
        }
    }
}

fn p(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |s| s.as_ptr())
}

/// Every fallible call answers with a code; a panic caught at the boundary is a bug too.
fn ok(rc: emz_result_t) -> emz_result_t {
    assert_ne!(rc, emz_result_t::EMZ_ERR_PANIC, "{}", unsafe {
        std::ffi::CStr::from_ptr(emz_last_error()).to_string_lossy()
    });
    rc
}

fn fuzzed_options(inp: &mut Input, o: &mut emz_options_t) {
    for _ in 0..inp.byte() % 8 {
        let v = inp.number();
        match inp.byte() % 22 {
            // A small number of threads and sockets keeps each run cheap.
            0 => o.io_threads = (v as i32) % 8,
            1 => o.max_sockets = (v as i32) % 4096,
            2 => o.send_hwm = v as i32,
            3 => o.recv_hwm = v as i32,
            4 => o.max_message_size = v as i64,
            5 => o.reconnect_interval_ms = v,
            6 => o.reconnect_interval_max_ms = v,
            7 => o.heartbeat_interval_ms = v,
            8 => o.heartbeat_timeout_ms = v,
            9 => o.heartbeat_ttl_ms = v,
            10 => o.handshake_interval_ms = v,
            11 => o.publish_handshake_interval_ms = v,
            12 => o.publish_max_message_size = v as i64,
            13 => o.min_fd_limit = v,
            14 => o.ipv6 = v & 1 == 1,
            15 => o.drain_budget = v as usize,
            16 => o.drain_frame_budget = v as usize,
            17 => o.drain_byte_budget = v as usize,
            18 => o.max_parts = v as usize,
            19 => o.keep_latest = v & 1 == 1,
            20 => o.retry_unsent = v & 1 == 1,
            _ => o.ehypha_monitor = v & 1 == 1,
        }
    }
}

/// A part list: NULL, or parts whose pointers are NULL (with a fuzzed length) or point
/// into `data` (with a length that fits), and a count that may claim fewer.
fn fuzzed_parts(inp: &mut Input, data: &[u8], parts: &mut Vec<emz_part_t>) -> (bool, usize) {
    parts.clear();
    for _ in 0..inp.byte() % 6 {
        let len = usize::from(inp.u16());
        let part = match inp.byte() % 6 {
            0 => emz_part_t { ptr: ptr::null(), len: if len % 2 == 0 { 0 } else { len } },
            _ => emz_part_t { ptr: data.as_ptr(), len: len.min(data.len()) },
        };
        parts.push(part);
    }
    let null = inp.byte() % 8 == 0;
    let n = match inp.byte() % 8 {
        0 => usize::from(inp.byte()),
        _ => parts.len(),
    };
    // A non-NULL list is never read past its end: only NULL may claim more.
    (null, if null { n } else { n.min(parts.len()) })
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let mut keys = Vec::new();
    for _ in 0..3 {
        let (mut public, mut secret) = ([0 as c_char; EMZ_KEY_BUF_LEN], [0 as c_char; EMZ_KEY_BUF_LEN]);
        assert_eq!(unsafe { emz_new_key_pair(public.as_mut_ptr(), secret.as_mut_ptr()) }, emz_result_t::EMZ_OK);
        for k in [public, secret] {
            keys.push(CString::new(k.iter().take(EMZ_KEY_Z85_LEN).map(|&c| c as u8).collect::<Vec<_>>()).expect("z85"));
        }
    }
    let payload = [0xA5u8; 4096];

    unsafe {
        let secret = inp.key(&keys);
        let mut public = [0 as c_char; EMZ_KEY_BUF_LEN];
        let out = if inp.byte() % 8 == 0 { ptr::null_mut() } else { public.as_mut_ptr() };
        ok(emz_public_key(p(&secret), out));
        let _ = emz_is_valid_key(p(&secret));

        // A fuzzed config, created then freed; then the efunguz the calls below work on.
        let mut c = std::mem::MaybeUninit::<emz_config_t>::uninit();
        let secret = inp.key(&keys);
        assert_eq!(
            emz_config_init_sized(c.as_mut_ptr(), std::mem::size_of::<emz_config_t>(), p(&secret)),
            emz_result_t::EMZ_OK
        );
        let mut c = c.assume_init();
        let mut o = std::mem::MaybeUninit::<emz_options_t>::uninit();
        assert_eq!(
            emz_options_default_sized(o.as_mut_ptr(), std::mem::size_of::<emz_options_t>()),
            emz_result_t::EMZ_OK
        );
        let mut o = o.assume_init();
        let bind_host = inp.host();
        let tor_host = inp.host();
        let wl: Vec<Option<CString>> = (0..inp.byte() % 4).map(|_| inp.key(&keys)).collect();
        let wl_ptrs: Vec<*const c_char> = wl.iter().map(p).collect();
        c.bind_host = p(&bind_host);
        c.tor_proxy_host = p(&tor_host);
        c.tor_proxy_port = inp.u16();
        c.any_port = inp.byte() % 4 != 0;
        c.port = inp.u16();
        c.everyone = inp.byte() & 1 == 1;
        c.whitelist = if inp.byte() % 8 == 0 { ptr::null() } else { wl_ptrs.as_ptr() };
        c.whitelist_len = if inp.byte() % 8 == 0 { usize::from(inp.byte()) } else { wl_ptrs.len() };
        if !c.whitelist.is_null() {
            c.whitelist_len = c.whitelist_len.min(wl_ptrs.len());
        }
        fuzzed_options(&mut inp, &mut o);
        // Sizes of the structs: mostly right, sometimes any number.
        if inp.byte() % 8 == 0 {
            o.size = usize::from(inp.u16());
        }
        if inp.byte() % 8 == 0 {
            c.size = usize::from(inp.byte());
        }
        c.options = if inp.byte() % 4 == 0 { ptr::null() } else { &o };
        let mut ef: *mut emz_efunguz_t = ptr::null_mut();
        if ok(emz_efunguz_new_with(&c, &mut ef)) == emz_result_t::EMZ_OK {
            assert!(!ef.is_null());
            emz_efunguz_free(ef);
        } else {
            assert!(ef.is_null());
        }
        let mut c = std::mem::MaybeUninit::<emz_config_t>::uninit();
        assert_eq!(
            emz_config_init_sized(c.as_mut_ptr(), std::mem::size_of::<emz_config_t>(), keys[1].as_ptr()),
            emz_result_t::EMZ_OK
        );
        let mut c = c.assume_init();
        c.any_port = true;
        c.bind_host = c"127.0.0.1".as_ptr();
        c.everyone = true;
        let mut ef: *mut emz_efunguz_t = ptr::null_mut();
        assert_eq!(emz_efunguz_new_with(&c, &mut ef), emz_result_t::EMZ_OK, "the plain config must work");

        let mut eh: *mut emz_ehypha_t = ptr::null_mut();
        let mut et: *mut emz_etale_t = ptr::null_mut();
        let mut parts = Vec::new();
        for _ in 0..64 {
            if inp.0.is_empty() {
                break;
            }
            match inp.byte() % 16 {
                0 => {
                    let (key, host, port) = (inp.key(&keys), inp.host(), inp.u16());
                    let mut out = ptr::null_mut();
                    if ok(emz_add_ehypha_direct(ef, p(&key), p(&host), port, &mut out)) == emz_result_t::EMZ_OK {
                        eh = out;
                    }
                }
                1 => {
                    let (key, onion, port) = (inp.key(&keys), inp.string(), inp.u16());
                    let mut out = ptr::null_mut();
                    if ok(emz_add_ehypha(ef, p(&key), p(&onion), port, &mut out)) == emz_result_t::EMZ_OK {
                        eh = out;
                    }
                }
                2 => {
                    let title = inp.string();
                    let mut out = ptr::null_mut();
                    if ok(emz_ehypha_add_etale(eh, p(&title), &mut out)) == emz_result_t::EMZ_OK {
                        et = out;
                    }
                }
                3 | 4 => {
                    let title = inp.string();
                    let (null, n) = fuzzed_parts(&mut inp, &payload, &mut parts);
                    let list = if null { ptr::null() } else { parts.as_ptr() };
                    if inp.byte() & 1 == 0 {
                        let mut sent = false;
                        ok(emz_emit_etale(
                            ef,
                            p(&title),
                            list,
                            n,
                            if inp.byte() & 1 == 0 { ptr::null_mut() } else { &mut sent },
                        ));
                    } else {
                        let mut sent = false;
                        ok(emz_emit_etale_at(ef, p(&title), list, n, inp.u64() as i64, &mut sent));
                    }
                }
                5 => {
                    let mut changed = 0;
                    ok(emz_update(ef, &mut changed));
                    for i in 0..changed.min(4) + usize::from(inp.byte() % 2) {
                        let mut out = ptr::null_mut();
                        ok(emz_change(ef, i, &mut out));
                    }
                }
                6 => {
                    ok(emz_wait(ef, i64::from(inp.byte() % 3), ptr::null_mut()));
                }
                7 => {
                    // Deleting an ehypha frees its views and those of its etales.
                    let key = inp.key(&keys);
                    if ok(emz_del_ehypha(ef, p(&key))) == emz_result_t::EMZ_OK {
                        (eh, et) = (ptr::null_mut(), ptr::null_mut());
                    }
                }
                8 => {
                    let title = inp.string();
                    if ok(emz_ehypha_del_etale(eh, p(&title))) == emz_result_t::EMZ_OK {
                        et = ptr::null_mut();
                    }
                }
                9 => {
                    let title = inp.string();
                    match inp.byte() % 3 {
                        0 => ok(emz_ehypha_pause_etale(eh, p(&title))),
                        1 => ok(emz_ehypha_resume_etale(eh, p(&title))),
                        _ => {
                            let mut out = ptr::null_mut();
                            ok(emz_ehypha_get_etale(eh, p(&title), &mut out))
                        }
                    };
                }
                10 => {
                    let (mut list, mut n, mut t_out, mut t_in) = (ptr::null(), 0, 0, 0);
                    ok(emz_etale_parts(et, &mut list, &mut n, &mut t_out, &mut t_in));
                    let mut received = 0;
                    ok(emz_etale_received(et, &mut received));
                }
                11 => {
                    let key = inp.key(&keys);
                    match inp.byte() % 4 {
                        0 => ok(emz_add_whitelist_key(ef, p(&key))),
                        1 => ok(emz_del_whitelist_key(ef, p(&key))),
                        2 => ok(emz_allow_everyone(ef)),
                        _ => ok(emz_clear_whitelist(ef)),
                    };
                }
                12 => {
                    let wl: Vec<Option<CString>> = (0..inp.byte() % 4).map(|_| inp.key(&keys)).collect();
                    let ptrs: Vec<*const c_char> = wl.iter().map(p).collect();
                    if inp.byte() % 4 == 0 {
                        ok(emz_add_whitelist_keys(ef, ptr::null(), usize::from(inp.byte())));
                    } else {
                        ok(emz_add_whitelist_keys(ef, ptrs.as_ptr(), ptrs.len()));
                    }
                }
                13 => {
                    let mut key = [0 as c_char; EMZ_KEY_BUF_LEN];
                    ok(emz_whitelist_key_at(ef, inp.number() as usize, key.as_mut_ptr()));
                    let mut out = ptr::null_mut();
                    ok(emz_ehypha_at(ef, inp.number() as usize, &mut out));
                    let key = inp.key(&keys);
                    ok(emz_get_ehypha(ef, p(&key), &mut out));
                }
                14 => {
                    let (mut counters, mut stats) = (emz_counters_t::default(), emz_stats_t::default());
                    ok(emz_counters_sized(ef, &mut counters, std::mem::size_of::<emz_counters_t>()));
                    ok(emz_efunguz_stats_sized(ef, &mut stats, std::mem::size_of::<emz_stats_t>()));
                    ok(emz_ehypha_stats_sized(eh, &mut stats, std::mem::size_of::<emz_stats_t>()));
                    let _ = emz_unsent_etales(ef);
                    let mut fd = -1;
                    ok(emz_efunguz_fd(ef, &mut fd));
                    ok(emz_efunguz_fd(ef, ptr::null_mut()));
                    let _ = emz_ehypha_state_name(inp.u64() as i32);
                    let _ = emz_result_str(inp.u64() as i32);
                }
                _ => {
                    let secret = inp.key(&keys);
                    let mut public = [0 as c_char; EMZ_KEY_BUF_LEN];
                    ok(emz_public_key(p(&secret), public.as_mut_ptr()));
                }
            }
        }
        emz_efunguz_free(ef);
    }
});
