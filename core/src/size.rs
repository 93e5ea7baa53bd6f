//! Image sizes: `WIDTHxHEIGHT` strings and the custom-size rule of the newer models.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    /// Parses `1024x1536` (also with `X` or `×`). `auto` and anything else give `None`.
    pub fn parse(text: &str) -> Option<Size> {
        let text = text.trim();
        let (w, h) = text
            .split_once('x')
            .or_else(|| text.split_once('X'))
            .or_else(|| text.split_once('×'))?;
        let width = w.trim().parse().ok()?;
        let height = h.trim().parse().ok()?;
        (width > 0 && height > 0).then_some(Size { width, height })
    }

    pub fn pixels(self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// The rule for arbitrary sizes (gpt-image-2 and later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CustomSizeRule {
    pub multiple_of: u32,
    /// The long side may be at most this many times the short side.
    pub max_aspect: u32,
    pub max_edge: u32,
    pub min_pixels: u64,
    pub max_pixels: u64,
    /// Above this many pixels OpenAI calls results experimental.
    pub experimental_above_pixels: u64,
}

impl CustomSizeRule {
    /// `Ok` when the size obeys the rule, else the reason in plain words.
    pub fn check(&self, size: Size) -> Result<(), String> {
        let Size { width, height } = size;
        let m = self.multiple_of;
        if width % m != 0 || height % m != 0 {
            return Err(format!(
                "Width and height must be multiples of {m} ({size} is not)."
            ));
        }
        let (long, short) = (width.max(height), width.min(height));
        if long > short * self.max_aspect {
            return Err(format!(
                "The long side may be at most {} times the short side ({size} is wider than 1:{0}).",
                self.max_aspect
            ));
        }
        if long > self.max_edge {
            return Err(format!(
                "Each side may be at most {} pixels ({size} is larger).",
                self.max_edge
            ));
        }
        if size.pixels() > self.max_pixels {
            return Err(format!(
                "At most {} pixels in all ({size} has {}).",
                self.max_pixels,
                size.pixels()
            ));
        }
        if size.pixels() < self.min_pixels {
            return Err(format!(
                "At least {} pixels in all ({size} has {}).",
                self.min_pixels,
                size.pixels()
            ));
        }
        Ok(())
    }

    pub fn is_experimental(&self, size: Size) -> bool {
        size.pixels() > self.experimental_above_pixels
    }

    /// The rule in one line, for the custom size field's hint.
    pub fn describe(&self) -> String {
        format!(
            "Width and height in multiples of {m}, from 1:{a} to {a}:1, at most {edge} px a side \
             and {pixels} pixels in all; above 2560x1440 results are experimental.",
            m = self.multiple_of,
            a = self.max_aspect,
            edge = self.max_edge,
            pixels = grouped(self.max_pixels)
        )
    }

    /// The size typed into a custom width × height field, checked: `Ok(note)` with a note for
    /// experimental sizes, else the reason it is refused.
    pub fn check_typed(&self, width: &str, height: &str) -> Result<Option<&'static str>, String> {
        let parse = |text: &str, side: &str| -> Result<u32, String> {
            match text.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(n),
                _ if text.trim().is_empty() => Err(format!("Enter the {side} in pixels.")),
                _ => Err(format!(
                    "The {side} must be a whole number of pixels ('{}' is not).",
                    text.trim()
                )),
            }
        };
        let size = Size {
            width: parse(width, "width")?,
            height: parse(height, "height")?,
        };
        self.check(size)?;
        Ok(self
            .is_experimental(size)
            .then_some("Above 2560x1440 OpenAI calls results experimental."))
    }
}

/// `8294400` → `8,294,400`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    #[test]
    fn parses_sizes() {
        assert_eq!(
            Size::parse("1024x1536"),
            Some(Size {
                width: 1024,
                height: 1536
            })
        );
        assert_eq!(
            Size::parse(" 640 X 480 "),
            Some(Size {
                width: 640,
                height: 480
            })
        );
        assert_eq!(Size::parse("auto"), None);
        assert_eq!(Size::parse("0x10"), None);
        assert_eq!(Size::parse("12x"), None);
        assert_eq!(
            Size {
                width: 3,
                height: 4
            }
            .to_string(),
            "3x4"
        );
    }

    #[test]
    fn custom_rule_of_gpt_image_2() {
        let rule = catalog::find("gpt-image-2").unwrap().custom_sizes.unwrap();
        assert_eq!(
            rule.check(Size {
                width: 1024,
                height: 1024
            }),
            Ok(())
        );
        assert_eq!(
            rule.check(Size {
                width: 3840,
                height: 2160
            }),
            Ok(())
        );
        assert!(
            rule.check(Size {
                width: 1000,
                height: 1000
            })
            .unwrap_err()
            .contains("multiples of 16")
        );
        assert!(
            rule.check(Size {
                width: 3072,
                height: 1008
            })
            .unwrap_err()
            .contains("at most 3 times")
        );
        assert!(
            rule.check(Size {
                width: 4096,
                height: 1536
            })
            .unwrap_err()
            .contains("3840")
        );
        assert!(
            rule.check(Size {
                width: 3840,
                height: 3840
            })
            .unwrap_err()
            .contains("pixels in all")
        );
        assert!(
            rule.check(Size {
                width: 512,
                height: 512
            })
            .unwrap_err()
            .contains("At least")
        );
        assert!(rule.is_experimental(Size {
            width: 3840,
            height: 2160
        }));
        assert!(!rule.is_experimental(Size {
            width: 2560,
            height: 1440
        }));
    }

    #[test]
    fn typed_custom_sizes_explain_themselves() {
        let rule = catalog::find("gpt-image-2").unwrap().custom_sizes.unwrap();
        assert_eq!(rule.check_typed("1920", "1088"), Ok(None));
        assert!(
            rule.check_typed("3840", "2160")
                .unwrap()
                .unwrap()
                .contains("experimental")
        );
        assert_eq!(
            rule.check_typed("", "1024"),
            Err("Enter the width in pixels.".into())
        );
        assert!(
            rule.check_typed("1024", "12.5")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            rule.check_typed("1000", "1024")
                .unwrap_err()
                .contains("multiples of 16")
        );
        assert!(rule.describe().contains("8,294,400 pixels"));
    }
}
