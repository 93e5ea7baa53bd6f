//! What a generation costs: an estimate before sending (from the request), and the actual
//! cost after (from the answer's `usage`).
//!
//! Prices change and some are not published where this project can read them, so they are
//! data in [`PRICES`], each with where it came from; a model missing there has no estimate
//! ("price unknown") rather than a guess presented as fact.

use crate::api::{GenerationRequest, Usage};
use crate::catalog;
use crate::decimal::dollars;
use crate::size::Size;

/// USD per million tokens of each kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenPrices {
    pub text_in: f64,
    pub image_in: f64,
    pub image_out: f64,
}

/// How a model is billed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Billing {
    /// GPT image models: by tokens; an image's output tokens depend on quality and area.
    Tokens(TokenPrices),
    /// DALL·E: a fixed price per image by (quality, size); `usage` is not sent.
    PerImage(&'static [(&'static str, &'static str, f64)]),
}

/// Per model: billing and the source of the numbers.
pub static PRICES: &[(&str, Billing, &str)] = &[
    (
        "gpt-image-1",
        Billing::Tokens(TokenPrices {
            text_in: 5.0,
            image_in: 10.0,
            image_out: 40.0,
        }),
        "OpenAI pricing page (2025)",
    ),
    (
        "gpt-image-1-mini",
        Billing::Tokens(TokenPrices {
            text_in: 2.0,
            image_in: 2.5,
            image_out: 8.0,
        }),
        "OpenAI pricing page (2025)",
    ),
    (
        "gpt-image-1.5",
        Billing::Tokens(TokenPrices {
            text_in: 5.0,
            image_in: 8.0,
            image_out: 32.0,
        }),
        "OpenAI pricing page (2025)",
    ),
    (
        "gpt-image-2",
        Billing::Tokens(TokenPrices {
            text_in: 5.0,
            image_in: 8.0,
            image_out: 30.0,
        }),
        "OpenAI pricing page as quoted by resellers (2026-05)",
    ),
    (
        "dall-e-3",
        Billing::PerImage(&[
            ("standard", "1024x1024", 0.04),
            ("standard", "1792x1024", 0.08),
            ("standard", "1024x1792", 0.08),
            ("hd", "1024x1024", 0.08),
            ("hd", "1792x1024", 0.12),
            ("hd", "1024x1792", 0.12),
        ]),
        "OpenAI pricing page (2024)",
    ),
    (
        "dall-e-2",
        Billing::PerImage(&[
            ("standard", "256x256", 0.016),
            ("standard", "512x512", 0.018),
            ("standard", "1024x1024", 0.02),
        ]),
        "OpenAI pricing page (2024)",
    ),
];

/// Output tokens of one 1024x1024 image per quality (gpt-image-1's published table: 272, 1056,
/// 4160; the 1536x1024 figures are within 2 % of the area rule used for other sizes).
const SQUARE_TOKENS: &[(&str, f64)] = &[("low", 272.0), ("medium", 1056.0), ("high", 4160.0)];
/// Output tokens of one streamed preview (`partial_images`), per OpenAI's guide.
const PREVIEW_TOKENS: f64 = 100.0;
/// Sizes `auto` may pick, for the range of an estimate.
const AUTO_SIZES: [Size; 2] = [
    Size {
        width: 1024,
        height: 1024,
    },
    Size {
        width: 1536,
        height: 1024,
    },
];

/// A cost in US dollars, or a range when the server chooses (quality or size `auto`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub low: f64,
    pub high: f64,
}

impl Estimate {
    pub fn is_range(&self) -> bool {
        self.high - self.low > 1e-9
    }

    /// `≈ $0.042`, or `$0.011–$0.250` for a range.
    pub fn text(&self) -> String {
        if self.is_range() {
            format!("{}–{}", dollars(self.low), dollars(self.high))
        } else {
            format!("≈ {}", dollars(self.high))
        }
    }
}

/// The question to ask before a generation that may take today's spending past the daily
/// `budget`; `None` when it stays within it (judged by the estimate's high end).
pub fn budget_question(spent_today: f64, estimate: &Estimate, budget: f64) -> Option<String> {
    let after = spent_today + estimate.high;
    (after > budget + 1e-9).then(|| {
        format!(
            "This generation may cost up to {}, which takes today's spending to {}: over your \
             daily budget of {}. Generate anyway?",
            dollars(estimate.high),
            dollars(after),
            dollars(budget)
        )
    })
}

/// The billing of `model`, dated snapshots included (`gpt-image-2-2026-04-21`).
pub fn billing(model: &str) -> Option<Billing> {
    PRICES
        .iter()
        .filter(|(id, _, _)| model == *id || model.strip_prefix(id).is_some_and(is_date_suffix))
        .max_by_key(|(id, _, _)| id.len())
        .map(|(_, billing, _)| *billing)
}

fn is_date_suffix(rest: &str) -> bool {
    let Some(date) = rest.strip_prefix('-') else {
        return false;
    };
    date.len() == 10 && date.chars().all(|c| c.is_ascii_digit() || c == '-')
}

/// The cost of `request` before it is sent; `None` when the model's price is unknown.
pub fn estimate(request: &GenerationRequest) -> Option<Estimate> {
    let n = f64::from(request.n.unwrap_or(1).max(1));
    let model = catalog::find(&request.model);
    match billing(&request.model)? {
        Billing::PerImage(table) => {
            let quality = request
                .quality
                .as_deref()
                .or_else(|| model.and_then(|m| m.default_quality()))
                .unwrap_or("standard");
            let size = request.size.as_deref().unwrap_or("1024x1024");
            let price = table
                .iter()
                .find(|(q, s, _)| *q == quality && *s == size)?
                .2;
            Some(Estimate {
                low: price * n,
                high: price * n,
            })
        }
        Billing::Tokens(prices) => {
            let qualities: Vec<&str> = match request.quality.as_deref() {
                None | Some("auto") => vec!["low", "high"],
                // xhigh and max have no published token counts: priced as high, a floor.
                Some("xhigh" | "max") => vec!["high"],
                Some(q) => vec![q],
            };
            let sizes: Vec<Size> = match request.size.as_deref() {
                None | Some("auto") => AUTO_SIZES.to_vec(),
                Some(text) => vec![Size::parse(text)?],
            };
            // About four characters a token: the prompt is a small part of the bill.
            let text = request.prompt.chars().count() as f64 / 4.0 * prices.text_in / 1e6;
            // Each streamed preview is billed as 100 more output tokens.
            let previews = if request.stream == Some(true) {
                f64::from(request.partial_images.unwrap_or(0)) * PREVIEW_TOKENS
            } else {
                0.0
            };
            let preview_cost = previews * prices.image_out / 1e6;
            let image = |quality: &str, size: &Size| {
                image_tokens(quality, size).map(|t| t * prices.image_out / 1e6)
            };
            let costs: Vec<f64> = qualities
                .iter()
                .flat_map(|q| sizes.iter().map(move |s| (q, s)))
                .map(|(q, s)| image(q, s))
                .collect::<Option<_>>()?;
            let low = costs.iter().copied().fold(f64::INFINITY, f64::min);
            let high = costs.iter().copied().fold(0.0, f64::max);
            Some(Estimate {
                low: text + (low + preview_cost) * n,
                high: text + (high + preview_cost) * n,
            })
        }
    }
}

/// Output tokens of one image of `size` at `quality`, by area from the 1024x1024 table.
fn image_tokens(quality: &str, size: &Size) -> Option<f64> {
    let square = SQUARE_TOKENS.iter().find(|(q, _)| *q == quality)?.1;
    let area = f64::from(size.width) * f64::from(size.height) / (1024.0 * 1024.0);
    Some(square * area)
}

/// Input tokens of one image sent to an edit: assumed to follow OpenAI's published vision
/// formula (fit within 2048 px, shortest side scaled to 768 px, then 85 + 170 per 512 px tile),
/// since the Images API publishes no table of its own. The answer's `usage` gives the truth.
fn input_image_tokens(size: Size) -> f64 {
    let (mut w, mut h) = (f64::from(size.width.max(1)), f64::from(size.height.max(1)));
    let fit = (2048.0 / w.max(h)).min(1.0);
    (w, h) = (w * fit, h * fit);
    let shortest = (768.0 / w.min(h)).min(1.0);
    (w, h) = (w * shortest, h * shortest);
    let tiles = (w / 512.0).ceil() * (h / 512.0).ceil();
    85.0 + 170.0 * tiles
}

/// The cost of an edit before it is sent: the images it makes (at the first input's size when
/// the size is `auto`, as edits keep it) plus the input images, for token-billed models;
/// per-image models price the output alone, as they bill.
pub fn estimate_edit(request: &GenerationRequest, inputs: &[Size]) -> Option<Estimate> {
    let mut sized = request.clone();
    if matches!(sized.size.as_deref(), None | Some("auto"))
        && let Some(first) = inputs.first()
    {
        sized.size = Some(first.to_string());
    }
    let mut estimate = estimate(&sized)?;
    if let Billing::Tokens(prices) = billing(&request.model)? {
        let tokens: f64 = inputs.iter().copied().map(input_image_tokens).sum();
        let input = tokens * prices.image_in / 1e6;
        estimate.low += input;
        estimate.high += input;
    }
    Some(estimate)
}

/// What the answer says was spent: from `usage` for token-billed models; for per-image models
/// (no usage), the estimate of the request that was sent.
pub fn actual(request: &GenerationRequest, usage: Option<&Usage>) -> Option<f64> {
    match billing(&request.model)? {
        Billing::PerImage(_) => estimate(request).map(|e| e.high),
        Billing::Tokens(prices) => {
            let usage = usage?;
            let input = usage.input_tokens.unwrap_or(0) as f64;
            let details = usage.input_tokens_details.as_ref();
            let image_in = details.and_then(|d| d.image_tokens).unwrap_or(0) as f64;
            let text_in = details
                .and_then(|d| d.text_tokens)
                .map_or(input - image_in, |t| t as f64);
            let output = usage.output_tokens.unwrap_or(0) as f64;
            Some(
                (text_in * prices.text_in + image_in * prices.image_in + output * prices.image_out)
                    / 1e6,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::TokenDetails;

    fn request(model: &str, size: &str, quality: &str, n: u32) -> GenerationRequest {
        let mut r = GenerationRequest::for_model(model, "a fox");
        r.size = Some(size.into());
        r.quality = Some(quality.into());
        r.n = Some(n);
        r
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.0001
    }

    #[test]
    fn published_per_image_prices_come_out() {
        // gpt-image-1 at 1024²: 272, 1056 and 4160 output tokens at $40/M (published as
        // $0.011, $0.042 and $0.167 rounded).
        for (quality, price) in [("low", 0.01088), ("medium", 0.04224), ("high", 0.1664)] {
            let e = estimate(&request("gpt-image-1", "1024x1024", quality, 1)).unwrap();
            assert!(close(e.high, price), "{quality}: {e:?}");
            assert!(!e.is_range());
        }
        // Portrait high ≈ $0.25; four images cost four times one.
        let e = estimate(&request("gpt-image-1", "1024x1536", "high", 4)).unwrap();
        assert!(close(e.high, 4.0 * 0.2496), "{e:?}");
        let dalle = estimate(&request("dall-e-3", "1792x1024", "hd", 1)).unwrap();
        assert!(close(dalle.low, 0.12));
    }

    #[test]
    fn edits_price_their_output_at_the_source_size_plus_the_input_images() {
        let square = Size {
            width: 1024,
            height: 1024,
        };
        let mut r = request("gpt-image-1", "auto", "high", 1);
        let one = estimate_edit(&r, &[square]).unwrap();
        // 4160 output tokens at $40/M, and 765 input tokens (4 tiles at 768²) at $10/M.
        assert!(close(one.high, 0.1664 + 765.0 * 10.0 / 1e6), "{one:?}");
        assert!(!one.is_range(), "auto keeps the source's size: no range");
        let two = estimate_edit(&r, &[square, square]).unwrap();
        assert!(close(two.high - one.high, 765.0 * 10.0 / 1e6));
        // A small input is one tile; a huge one is scaled down first.
        let small = Size {
            width: 256,
            height: 256,
        };
        assert_eq!(input_image_tokens(small), 255.0);
        let huge = Size {
            width: 4096,
            height: 2048,
        };
        assert_eq!(input_image_tokens(huge), 85.0 + 170.0 * 6.0);
        // dall-e-2 bills per image: the inputs cost nothing more.
        r = request("dall-e-2", "1024x1024", "standard", 2);
        let dalle = estimate_edit(&r, &[square]).unwrap();
        assert_eq!(Some(dalle), estimate(&r));
        assert_eq!(
            estimate_edit(&request("my-model", "auto", "low", 1), &[square]),
            None
        );
    }

    #[test]
    fn auto_gives_a_range_and_unknown_prices_give_none() {
        let e = estimate(&request("gpt-image-2", "auto", "auto", 1)).unwrap();
        assert!(e.is_range() && e.low < 0.01 && e.high > 0.15, "{e:?}");
        assert_eq!(
            estimate(&request("gpt-image-2.6-flare", "1024x1024", "low", 1)),
            None
        );
        assert_eq!(
            estimate(&request("my-local-model", "1024x1024", "low", 1)),
            None
        );
        assert_eq!(
            estimate(&request("dall-e-2", "1536x1024", "standard", 1)),
            None
        );
    }

    #[test]
    fn estimates_read_as_one_price_or_a_range() {
        let one = Estimate {
            low: 0.04224,
            high: 0.04224,
        };
        assert_eq!(one.text(), "≈ $0.042");
        let range = Estimate {
            low: 0.01088,
            high: 0.2496,
        };
        assert_eq!(range.text(), "$0.011–$0.250");
    }

    #[test]
    fn the_budget_asks_only_when_it_would_be_passed() {
        let e = Estimate {
            low: 0.1,
            high: 0.25,
        };
        assert_eq!(budget_question(0.5, &e, 1.0), None);
        assert_eq!(
            budget_question(0.75, &e, 1.0),
            None,
            "exactly at the budget"
        );
        let question = budget_question(0.9, &e, 1.0).unwrap();
        assert!(
            question.contains("$0.250") && question.contains("$1.15") && question.contains("$1.00")
        );
    }

    #[test]
    fn streamed_previews_add_to_the_estimate() {
        let plain = request("gpt-image-1", "1024x1024", "low", 2);
        let mut streamed = plain.clone();
        streamed.stream = Some(true);
        streamed.partial_images = Some(3);
        let extra = estimate(&streamed).unwrap().high - estimate(&plain).unwrap().high;
        assert!(close(extra, 2.0 * 300.0 * 40.0 / 1e6), "{extra}");
    }

    #[test]
    fn dated_snapshots_share_their_model_s_price() {
        assert_eq!(billing("gpt-image-2-2026-04-21"), billing("gpt-image-2"));
        assert_eq!(billing("gpt-image-1-mini"), billing("gpt-image-1-mini"));
        assert_ne!(billing("gpt-image-1-mini"), billing("gpt-image-1"));
        assert_eq!(billing("gpt-image-2x"), None);
    }

    #[test]
    fn the_actual_cost_comes_from_usage() {
        let usage = Usage {
            input_tokens: Some(50),
            output_tokens: Some(4160),
            total_tokens: Some(4210),
            input_tokens_details: Some(TokenDetails {
                text_tokens: Some(40),
                image_tokens: Some(10),
            }),
            output_tokens_details: None,
        };
        let r = request("gpt-image-1", "1024x1024", "high", 1);
        let cost = actual(&r, Some(&usage)).unwrap();
        assert!(close(
            cost,
            (40.0 * 5.0 + 10.0 * 10.0 + 4160.0 * 40.0) / 1e6
        ));
        assert_eq!(actual(&r, None), None, "no usage, no actual cost");
        let dalle = request("dall-e-3", "1024x1024", "standard", 2);
        assert!(close(actual(&dalle, None).unwrap(), 0.08));
    }
}
