//! The linked libzmq has CURVE: without it nothing of emyzelium can work.
use emyzelium::*;

#[test]
fn linked_libzmq_has_curve() {
    assert!(has_curve(), "libzmq was built without CURVE");
    let (major, minor, _) = libzmq_version();
    assert!((major, minor) >= (4, 3));
    #[cfg(feature = "vendored")]
    assert_eq!(libzmq_version(), (4, 3, 5));
}

#[test]
fn key_pairs_are_real_curve_keys() {
    let (public, secret) = new_key_pair().unwrap();
    assert!(is_valid_key(&public) && is_valid_key(&secret));
    assert_ne!(public, secret);
    assert_eq!(public_key(&secret).unwrap(), public);
    let (public2, _) = new_key_pair().unwrap();
    assert_ne!(public, public2);
    // Z85 round trip through our codec agrees with libzmq's encoding.
    assert_eq!(z85_encode(&z85_decode(&public).unwrap()), public);
}
