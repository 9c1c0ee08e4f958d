//! Measures shared by the benchmarks, the tests and the assistant's own summary: edit
//! distance (over bytes, characters or words), word error rate, percentiles. Pure.

use crate::stt::guard;

/// Edit distance (insertions, deletions, substitutions) between two sequences.
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    edit_distance_within(a, b, a.len().max(b.len())).unwrap_or(usize::MAX)
}

/// Longest second sequence compared without allocating.
const STACK: usize = 64;

/// The edit distance of `a` and `b` if it is at most `max`, computed in a band of width
/// `2 * max + 1` (so a tight bound is cheap); `None` when it is larger.
pub fn edit_distance_within<T: PartialEq>(a: &[T], b: &[T], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    if a.is_empty() || b.is_empty() {
        let d = a.len().max(b.len());
        return (d <= max).then_some(d);
    }
    if b.len() < STACK {
        let (mut prev, mut cur) = ([0usize; STACK], [0usize; STACK]);
        banded(a, b, max, &mut prev[..=b.len()], &mut cur[..=b.len()])
    } else {
        let (mut prev, mut cur) = (vec![0; b.len() + 1], vec![0; b.len() + 1]);
        banded(a, b, max, &mut prev, &mut cur)
    }
}

/// The banded dynamic programme; `prev` and `cur` hold `b.len() + 1` cells.
fn banded<T: PartialEq>(a: &[T], b: &[T], max: usize, prev: &mut [usize], cur: &mut [usize]) -> Option<usize> {
    let big = max.saturating_add(1);
    for (j, cell) in prev.iter_mut().enumerate() {
        *cell = j;
    }
    let (mut prev, mut cur) = (prev, cur);
    for i in 1..=a.len() {
        let lo = i.saturating_sub(max).max(1);
        let hi = i.saturating_add(max).min(b.len());
        cur.fill(big);
        cur[0] = if i <= max { i } else { big };
        let mut row_min = cur[0];
        for j in lo..=hi {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let v = (prev[j - 1] + cost).min(prev[j] + 1).min(cur[j - 1] + 1).min(big);
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

/// Word errors (substitutions + insertions + deletions) and reference length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WordErrors {
    /// Edit distance in words.
    pub errors: usize,
    /// Words in the reference.
    pub words: usize,
}

impl WordErrors {
    /// Adds another clip's counts.
    pub fn add(&mut self, other: WordErrors) {
        self.errors += other.errors;
        self.words += other.words;
    }

    /// Word error rate in percent.
    pub fn percent(&self) -> f64 {
        if self.words == 0 { 0.0 } else { 100.0 * self.errors as f64 / self.words as f64 }
    }
}

/// Words of a sentence for scoring: lower case, no punctuation, "%" as "percent",
/// hyphens as spaces ("Kitchen-Light" = "kitchen light").
pub fn score_words(text: &str) -> Vec<String> {
    let spaced = text.replace('%', " percent").replace('-', " ");
    guard::normalize(&spaced).split_whitespace().map(str::to_string).collect()
}

/// Word-level edit distance between a reference sentence and a transcript.
pub fn word_errors(reference: &str, hypothesis: &str) -> WordErrors {
    let r = score_words(reference);
    let h = score_words(hypothesis);
    WordErrors { errors: edit_distance(&r, &h), words: r.len() }
}

/// Median of a list (0 for an empty one).
pub fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

/// Nearest-rank percentile (0 for an empty list).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn edit_distance_over_bytes_chars_and_words() {
        assert_eq!(edit_distance(b"kitten", b"sitting"), 3);
        assert_eq!(edit_distance(&chars("küche"), &chars("kuche")), 1);
        assert_eq!(edit_distance(&["a", "b", "c"], &["a", "c"]), 1);
        assert_eq!(edit_distance::<u8>(&[], &[]), 0);
        assert_eq!(edit_distance(b"", b"abc"), 3);
        assert_eq!(edit_distance_within(b"kitten", b"sitting", 2), None);
        assert_eq!(edit_distance_within(b"kitten", b"sitting", 3), Some(3));
        let long_a = vec![1u8; 100];
        let mut long_b = long_a.clone();
        long_b[50] = 2;
        assert_eq!(edit_distance(&long_a, &long_b), 1, "beyond the stack buffer");
    }

    #[test]
    fn word_errors_count_edits_on_normalised_words() {
        assert_eq!(
            word_errors("turn on the kitchen light", "Turn on the kitchen light."),
            WordErrors { errors: 0, words: 5 }
        );
        assert_eq!(
            word_errors("turn on the kitchen light", "Turn on the Kitchen-Light"),
            WordErrors { errors: 0, words: 5 }
        );
        assert_eq!(
            word_errors("turn on the kitchen light", "turn on kitchen lights"),
            WordErrors { errors: 2, words: 5 }
        );
        assert_eq!(word_errors("set it to 50 percent", "Set it to 50%."), WordErrors { errors: 0, words: 5 });
        assert_eq!(word_errors("a b", ""), WordErrors { errors: 2, words: 2 });
        assert_eq!(word_errors("", "hello"), WordErrors { errors: 1, words: 0 });
    }

    #[test]
    fn percentiles() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(median(&v), 3.0);
        assert_eq!(percentile(&v, 90.0), 5.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
