// Shared by the targets: splits the input into frames at each 0xFF 0xFE pair, so that
// the fuzzer controls the number, lengths and contents of frames.
pub fn split_frames(data: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < data.len() {
        if data[i] == 0xFF && data[i + 1] == 0xFE {
            frames.push(&data[start..i]);
            i += 2;
            start = i;
        } else {
            i += 1;
        }
    }
    frames.push(&data[start..]);
    frames
}
