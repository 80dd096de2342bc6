//! The publisher's ZAP path: arbitrary requests against everyone allowed and one key allowed.
#![no_main]
use emyzelium::fuzzing::zap_verdict;
use emyzelium::z85_encode;
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

mod frames;

fuzz_target!(|data: &[u8]| {
    let frames = frames::split_frames(data);
    let everyone = HashSet::new();
    let one = HashSet::from([z85_encode(&[7u8; 32])]);
    for whitelist in [&everyone, &one] {
        let v = zap_verdict(&frames, |k| whitelist.is_empty() || whitelist.contains(k));
        if v.status == "200" {
            // Allowed: a CURVE request in our domain, and the user id is the client's key.
            assert_eq!(frames[0], b"1.0");
            assert_eq!(frames[5], b"CURVE");
            assert_eq!(v.user_id, z85_encode(frames[6].try_into().unwrap()));
            assert!(whitelist.is_empty() || whitelist.contains(&v.user_id));
        } else {
            assert!(v.user_id.is_empty());
        }
    }
});
