//! Colours of every plot and page: the Okabe–Ito palette (colour-blind safe), which colour
//! means which status, and the colour (and dash) of the n-th run in an overlay.

use crate::summary::{RunSummary, Status};

/// An sRGB colour, usable both by plotters and as a CSS `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour(pub u8, pub u8, pub u8);

impl Colour {
    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02X}{:02X}{:02X}", self.0, self.1, self.2)
    }

    /// Linear mix towards `other`: `t = 0` is `self`, `t = 1` is `other`.
    pub fn mix(self, other: Colour, t: f64) -> Colour {
        let t = t.clamp(0.0, 1.0);
        let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
        Colour(lerp(self.0, other.0), lerp(self.1, other.1), lerp(self.2, other.2))
    }

    /// Relative luminance (WCAG), 0 for black to 1 for white: picks a readable text colour.
    pub fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = c as f64 / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }
}

pub const BLACK: Colour = Colour(0x00, 0x00, 0x00);
pub const ORANGE: Colour = Colour(0xE6, 0x9F, 0x00);
pub const SKY_BLUE: Colour = Colour(0x56, 0xB4, 0xE9);
pub const BLUISH_GREEN: Colour = Colour(0x00, 0x9E, 0x73);
pub const YELLOW: Colour = Colour(0xF0, 0xE4, 0x42);
pub const BLUE: Colour = Colour(0x00, 0x72, 0xB2);
pub const VERMILLION: Colour = Colour(0xD5, 0x5E, 0x00);
pub const REDDISH_PURPLE: Colour = Colour(0xCC, 0x79, 0xA7);
pub const GREY: Colour = Colour(0x99, 0x99, 0x99);
pub const WHITE: Colour = Colour(0xFF, 0xFF, 0xFF);

/// Lines of one plot, in order. Vermillion is kept for the collapse marker and yellow is
/// too light on white.
pub const SERIES: [Colour; 6] = [BLUE, ORANGE, BLUISH_GREEN, REDDISH_PURPLE, SKY_BLUE, BLACK];

/// The colour of a run's curve by how it ended; a transient collapse is orange, a sustained
/// one vermillion.
pub fn status_colour(run: &RunSummary) -> Colour {
    match run.status {
        Status::Ok => BLUISH_GREEN,
        Status::Collapsed if run.recovered => ORANGE,
        Status::Collapsed => VERMILLION,
        Status::Diverged => REDDISH_PURPLE,
        Status::Failed => GREY,
        Status::Stopped => SKY_BLUE,
    }
}

/// The n-th run of an overlay (0-based): eight distinct colours, then the same colours dashed,
/// then again (the table beside the plot names every run by number and swatch).
pub fn run_style(n: usize) -> (Colour, bool) {
    const RUNS: [Colour; 8] = [BLUE, VERMILLION, BLUISH_GREEN, ORANGE, REDDISH_PURPLE, SKY_BLUE, BLACK, YELLOW];
    (RUNS[n % RUNS.len()], (n / RUNS.len()) % 2 == 1)
}

/// The collapse-map fill for a share in 0..=1 of sustained collapses: near-white to vermillion.
pub fn share_colour(share: f64) -> Colour {
    Colour(0xF4, 0xF4, 0xF4).mix(VERMILLION, share)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_mix_and_luminance() {
        assert_eq!(VERMILLION.hex(), "#D55E00");
        assert_eq!(BLACK.mix(WHITE, 0.5), Colour(128, 128, 128));
        assert_eq!(BLACK.mix(WHITE, 7.0), WHITE, "t is clamped");
        assert!(WHITE.luminance() > 0.99 && BLACK.luminance() < 0.01);
        assert_eq!(share_colour(1.0), VERMILLION);
    }

    #[test]
    fn run_styles_repeat_dashed_after_eight() {
        assert_eq!(run_style(0), (BLUE, false));
        assert_eq!(run_style(8), (BLUE, true));
        assert_eq!(run_style(16), (BLUE, false));
        let first: Vec<Colour> = (0..8).map(|n| run_style(n).0).collect();
        let mut unique = first.clone();
        unique.dedup();
        assert_eq!(unique.len(), 8);
    }
}
