//! The publisher's subscription path: any message a subscriber may send.
#![no_main]
use emyzelium::fuzzing::{parse_subscription, Subscription};
use emyzelium::MAX_TITLE_LEN;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_subscription(data) {
        Some(Subscription::Subscribe(topic)) => {
            assert_eq!(data[0], 1);
            assert!(topic.len() <= MAX_TITLE_LEN + 1);
            assert_eq!(&data[1..], topic);
        }
        Some(Subscription::Unsubscribe(topic)) => {
            assert_eq!(data[0], 0);
            assert!(topic.len() <= MAX_TITLE_LEN + 1);
        }
        None => assert!(data.is_empty() || data[0] > 1 || data.len() > MAX_TITLE_LEN + 2),
    }
});
