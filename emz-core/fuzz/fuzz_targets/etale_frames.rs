//! The receive path: arbitrary multipart messages parsed as etales, as an ehypha does.
#![no_main]
use emyzelium::fuzzing::{parse_etale, parse_t_out, parse_title, Malformed};
use libfuzzer_sys::fuzz_target;

mod frames;

fuzz_target!(|data: &[u8]| {
    let frames = frames::split_frames(data);
    match parse_etale(&frames) {
        Ok((title, t_out)) => {
            // What parsing accepts is exactly a NUL-terminated UTF-8 title and 8 bytes.
            assert_eq!(frames[0], [title.as_bytes(), b"\0"].concat().as_slice());
            assert_eq!(frames[1], t_out.to_le_bytes().as_slice());
        }
        Err(Malformed::NoTimestamp) => assert!(frames.len() == 1 && parse_title(frames[0]).is_ok()),
        Err(Malformed::BadTimestamp) => assert!(parse_t_out(frames[1]).is_err()),
        Err(Malformed::NoTerminator | Malformed::NotUtf8) => assert!(parse_title(frames[0]).is_err()),
    }
});
