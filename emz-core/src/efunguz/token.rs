//! What each fd in the efunguz's epoll set belongs to, and its u64 tag there.

/// The owner of a ready fd. Encoded as the epoll event's u64 tag in exactly one place
/// (`From<Token> for u64` and [`Token::from_u64`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token {
    /// The ZAP handler's socket.
    Zap,
    /// The monitor of the publish socket.
    Monitor,
    /// The publish socket (subscriptions coming in).
    Publisher,
    /// The SUB socket of the ehypha in this slot.
    Ehypha(usize),
    /// The monitor of the ehypha in this slot.
    EhyphaMonitor(usize),
}

/// Tags below this are the efunguz's own sockets; from it on, two per ehypha slot.
const FIRST_EHYPHA: u64 = 3;

impl Token {
    /// The token tagged `tag`. Total: every tag from `FIRST_EHYPHA` on names a slot.
    pub(super) fn from_u64(tag: u64) -> Token {
        match tag {
            0 => Token::Zap,
            1 => Token::Monitor,
            2 => Token::Publisher,
            t => {
                let slot = ((t - FIRST_EHYPHA) / 2) as usize;
                if (t - FIRST_EHYPHA).is_multiple_of(2) {
                    Token::Ehypha(slot)
                } else {
                    Token::EhyphaMonitor(slot)
                }
            }
        }
    }

    /// How many distinct tokens `slots` ehypha slots and the efunguz's own sockets use:
    /// the most events one epoll wait can report.
    pub(super) fn count(slots: usize) -> usize {
        FIRST_EHYPHA as usize + 2 * slots
    }
}

impl From<Token> for u64 {
    fn from(token: Token) -> u64 {
        match token {
            Token::Zap => 0,
            Token::Monitor => 1,
            Token::Publisher => 2,
            Token::Ehypha(slot) => FIRST_EHYPHA + 2 * slot as u64,
            Token::EhyphaMonitor(slot) => FIRST_EHYPHA + 2 * slot as u64 + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    #[test]
    fn every_token_survives_the_round_trip() {
        let mut tokens = vec![Token::Zap, Token::Monitor, Token::Publisher];
        for slot in [0, 1, 2, 7, 1000, usize::MAX / 4] {
            tokens.push(Token::Ehypha(slot));
            tokens.push(Token::EhyphaMonitor(slot));
        }
        for t in tokens {
            assert_eq!(Token::from_u64(u64::from(t)), t, "{t:?}");
        }
    }

    #[test]
    fn tags_are_distinct_and_dense() {
        let slots = 50;
        let mut tags: Vec<u64> = [Token::Zap, Token::Monitor, Token::Publisher].into_iter().map(u64::from).collect();
        for slot in 0..slots {
            tags.push(Token::Ehypha(slot).into());
            tags.push(Token::EhyphaMonitor(slot).into());
        }
        let mut sorted = tags.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), tags.len(), "two tokens share a tag");
        // Dense from 0: the count is exactly one past the largest tag.
        assert_eq!(sorted, (0..Token::count(slots) as u64).collect::<Vec<_>>());
    }

    #[test]
    fn every_tag_decodes_to_its_encoding() {
        for tag in 0..40u64 {
            assert_eq!(u64::from(Token::from_u64(tag)), tag);
        }
        assert_eq!(Token::from_u64(3), Token::Ehypha(0));
        assert_eq!(Token::from_u64(4), Token::EhyphaMonitor(0));
        assert_eq!(Token::from_u64(5), Token::Ehypha(1));
    }
}
