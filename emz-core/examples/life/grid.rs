//! The Game of Life itself: a toroidal grid, birth/survival rules, and the zones
//! (thirds of a grid) that realms exchange.

use std::fmt;

/// Birth/survival rules in B/S notation, as neighbour-count bit masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    birth: u16,
    survival: u16,
}

impl Rules {
    /// Parses `B3/S23`-style notation (digits 0..=8 after B and S).
    pub fn parse(text: &str) -> Result<Rules, String> {
        let bad = || format!("rules {text:?} are not of the form B3/S23");
        let (b, s) = text.split_once('/').ok_or_else(bad)?;
        let mask = |digits: &str, prefix: char| -> Result<u16, String> {
            let digits = digits.strip_prefix(prefix).ok_or_else(bad)?;
            digits.chars().try_fold(0u16, |m, c| match c.to_digit(10) {
                Some(d) if d <= 8 => Ok(m | 1 << d),
                _ => Err(bad()),
            })
        };
        Ok(Rules { birth: mask(b, 'B')?, survival: mask(s, 'S')? })
    }

    fn next(self, alive: bool, neighbours: u8) -> bool {
        let mask = if alive { self.survival } else { self.birth };
        mask & (1 << neighbours) != 0
    }
}

/// Small xorshift generator: random starts need no cryptographic quality, and the
/// demo should not pull in a crate for them.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Zero is the one state xorshift never leaves.
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next_u64() % den < num
    }
}

/// A rectangle of cells, one byte each (0 dead, 1 alive): the unit exchanged as etale
/// `zone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub height: usize,
    pub width: usize,
    pub cells: Vec<u8>,
}

/// Why a received `zone` etale cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneError {
    PartCount(usize),
    SizeLength { which: &'static str, len: usize },
    Empty { height: usize, width: usize },
    CellCount { height: usize, width: usize, got: usize },
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZoneError::PartCount(n) => write!(f, "{n} parts instead of 3"),
            ZoneError::SizeLength { which, len } => write!(f, "{which} is {len} bytes instead of 2"),
            ZoneError::Empty { height, width } => write!(f, "empty zone {height}x{width}"),
            ZoneError::CellCount { height, width, got } => {
                write!(f, "{got} cells for a {height}x{width} zone")
            }
        }
    }
}

impl Zone {
    /// The etale parts: height and width as u16 little-endian, then the cells row by row.
    pub fn to_parts(&self) -> [Vec<u8>; 3] {
        // Grids are limited to u16 sizes when they are made, so these cannot truncate.
        let h = self.height as u16;
        let w = self.width as u16;
        [h.to_le_bytes().to_vec(), w.to_le_bytes().to_vec(), self.cells.clone()]
    }

    /// Checks everything a peer could get wrong; never trusts the sizes it announces.
    pub fn from_parts(parts: &[&[u8]]) -> Result<Zone, ZoneError> {
        let [h, w, cells] = parts else {
            return Err(ZoneError::PartCount(parts.len()));
        };
        let size = |bytes: &[u8], which| {
            <[u8; 2]>::try_from(bytes)
                .map(|b| usize::from(u16::from_le_bytes(b)))
                .map_err(|_| ZoneError::SizeLength { which, len: bytes.len() })
        };
        let (height, width) = (size(h, "height")?, size(w, "width")?);
        if height == 0 || width == 0 {
            return Err(ZoneError::Empty { height, width });
        }
        if cells.len() != height * width {
            return Err(ZoneError::CellCount { height, width, got: cells.len() });
        }
        // Any non-zero byte counts as alive: lenient to other implementations.
        Ok(Zone { height, width, cells: cells.iter().map(|&c| u8::from(c != 0)).collect() })
    }
}

/// Largest grid side: zone sizes travel as u16.
pub const MAX_SIDE: usize = u16::MAX as usize;

/// A toroidal Game of Life grid: edges wrap around.
pub struct Grid {
    height: usize,
    width: usize,
    cells: Vec<u8>,
    /// Kept between steps so a generation allocates nothing.
    next: Vec<u8>,
}

impl Grid {
    pub fn new(height: usize, width: usize) -> Grid {
        assert!((1..=MAX_SIDE).contains(&height) && (3..=MAX_SIDE).contains(&width), "grid size checked by caller");
        Grid { height, width, cells: vec![0; height * width], next: vec![0; height * width] }
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Width of the import zone (left third) and of the export zone (right third).
    pub fn third(&self) -> usize {
        self.width / 3
    }

    pub fn alive(&self, y: usize, x: usize) -> bool {
        self.cells[y * self.width + x] != 0
    }

    pub fn toggle(&mut self, y: usize, x: usize) {
        self.cells[y * self.width + x] ^= 1;
    }

    pub fn population(&self) -> usize {
        self.cells.iter().filter(|&&c| c != 0).count()
    }

    pub fn clear(&mut self) {
        self.cells.fill(0);
    }

    /// About one cell in four alive: dense enough to live a while under both rules.
    pub fn randomize(&mut self, rng: &mut Rng) {
        for c in &mut self.cells {
            *c = u8::from(rng.chance(1, 4));
        }
    }

    pub fn step(&mut self, rules: Rules) {
        let (h, w) = (self.height, self.width);
        for y in 0..h {
            let rows = [(y + h - 1) % h, y, (y + 1) % h];
            for x in 0..w {
                let cols = [(x + w - 1) % w, x, (x + 1) % w];
                let mut n = 0;
                for (i, &ry) in rows.iter().enumerate() {
                    for (j, &cx) in cols.iter().enumerate() {
                        if (i, j) != (1, 1) {
                            n += self.cells[ry * w + cx];
                        }
                    }
                }
                self.next[y * w + x] = u8::from(rules.next(self.cells[y * w + x] != 0, n));
            }
        }
        std::mem::swap(&mut self.cells, &mut self.next);
    }

    /// The right third, which this realm offers to the others.
    pub fn export_zone(&self) -> Zone {
        let width = self.third();
        let x0 = self.width - width;
        let cells = (0..self.height).flat_map(|y| self.cells[y * self.width + x0..][..width].iter().copied()).collect();
        Zone { height: self.height, width, cells }
    }

    /// Pastes a peer's zone over the left third, clipped to it (zones from bigger
    /// grids lose their bottom and right, smaller ones leave the rest untouched).
    pub fn import_zone(&mut self, zone: &Zone) {
        let rows = zone.height.min(self.height);
        let cols = zone.width.min(self.third());
        for y in 0..rows {
            let src = &zone.cells[y * zone.width..][..cols];
            self.cells[y * self.width..][..cols].copy_from_slice(src);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blinker_and_zones() {
        let conway = Rules::parse("B3/S23").unwrap();
        let mut g = Grid::new(5, 6);
        for x in 1..4 {
            g.toggle(2, x);
        }
        g.step(conway);
        assert!(g.alive(1, 2) && g.alive(2, 2) && g.alive(3, 2) && !g.alive(2, 1));
        let z = g.export_zone();
        assert_eq!((z.height, z.width), (5, 2));
        let parts = z.to_parts();
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        assert_eq!(Zone::from_parts(&refs).unwrap(), z);
        assert!(Zone::from_parts(&refs[..2]).is_err());
        assert!(Zone::from_parts(&[&[5, 0], &[2, 0], &[0; 9]]).is_err());
        assert!(Zone::from_parts(&[&[5], &[2, 0], &[0; 10]]).is_err());
        assert!(Rules::parse("B9/S1").is_err());
    }
}
