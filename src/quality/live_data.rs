//! Live market data: a prompt that asks for a price or rate as it is now or will be ("the current
//! exchange rate", "predict Apple's stock price next month") cannot be answered from the record, and a
//! response that states a figure or a direction as fact invents it. A response that says such a
//! figure cannot be known is an answer, and is left alone.

use super::text::re;
use regex::Regex;
use std::sync::LazyLock;

/// Something whose price moves from day to day.
static MARKET: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:stock|share) prices?\b|\bstock market\b|\b(?:price|value) of (?:bitcoin|gold|silver|oil|crude oil|ethereum)\b|\b(?:spot|market) price\b|\bexchange rates?\b|\bbitcoin price\b",
    )
});

/// Now, or later.
static WHEN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:predict\w*|forecast\w*|current(?:ly)?|today|tomorrow|right now|next (?:day|week|month|quarter|year)|this (?:week|month|year)|in (?:\d+|one|two|three|five|ten) (?:days?|weeks?|months?|years?)|will (?:be|rise|fall|go))\b",
    )
});

/// The prompt is about prices rather than asking for one: a model, an explanation, a text to write
/// or rewrite, data it gives.
static ABOUT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:algorithm|model|program|code|neural|machine learning|explain|describe|how|why|strategy|paraphrase|rewrite|sentence|given|provided|following|based on|factors?|approach|method|system|tool|design|build|create|essay|article|story|tweet|headline)\b",
    )
});

/// The response says the figure cannot be known.
static HEDGE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b(?:difficult|impossible|not possible|cannot|can't|unable|no way|uncertain|unpredictable|hard to)\b")
});

/// A figure or a direction stated.
static STATED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\d|\b(?:rise|rising|increase|increasing|fall|falling|decrease|decreasing|go up|go down|remain stable|stay stable|continue to)\b",
    )
});

/// The market words the prompt asks about, when it asks for a live or future price with no data
/// given and the response states one as fact.
pub(crate) fn invented_market_figure(instruction: &str, input: &str, output: &str) -> Option<String> {
    if !input.trim().is_empty() {
        return None;
    }
    let instr = instruction.to_lowercase();
    let market = MARKET.find(&instr)?;
    let when = WHEN.find(&instr)?;
    if ABOUT.is_match(&instr) {
        return None;
    }
    let out = output.to_lowercase();
    (!HEDGE.is_match(&out) && STATED.is_match(&out)).then(|| {
        format!(
            "asks for live market data (\"{}\", \"{}\") and the response states it as fact",
            when.as_str(),
            market.as_str()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::invented_market_figure as f;

    #[test]
    fn a_stated_live_or_future_price_is_invented() {
        let why = f(
            "Generate a valid stock price prediction for Amazon (AMZN).",
            "",
            "I predict it will be between $3,000 and $3,300.",
        );
        assert_eq!(
            why.as_deref(),
            Some("asks for live market data (\"prediction\", \"stock price\") and the response states it as fact")
        );
        assert!(f("What is the current market price of gold?", "", "It is $1,942.85 per troy ounce.").is_some());
        assert!(f("Make a prediction about the stock price of Apple.", "", "It will continue to increase.").is_some());
    }

    #[test]
    fn hedged_answers_prices_given_and_questions_about_prices_pass() {
        assert!(
            f(
                "Predict the stock price of Google next year.",
                "",
                "It is difficult to predict; it depends on many factors."
            )
            .is_none()
        );
        assert!(f("Predict tomorrow's stock price.", "Closing prices: 101, 103, 104", "About 105.").is_none());
        assert!(
            f("Explain how neural networks predict stock prices.", "", "They learn from 10 years of data.").is_none()
        );
        assert!(f("What was the exchange rate in 1999?", "", "About 1.07 dollars per euro.").is_none());
    }
}
