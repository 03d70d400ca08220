//! One budget for everything a result shows the model (stdout, stderr, the result value and the
//! file list), in characters or in tokens, shared so that a quiet stream leaves room for a loud one.

/// The size of what the model reads from one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Characters of text.
    Chars(usize),
    /// Tokens, counted as 4 characters each (close for English and code with common tokenizers).
    Tokens(usize),
}

/// Characters per token in [`Budget::Tokens`].
pub const CHARS_PER_TOKEN: usize = 4;

impl Budget {
    /// The budget in characters.
    pub fn chars(self) -> usize {
        match self {
            Budget::Chars(n) => n,
            Budget::Tokens(n) => n.saturating_mul(CHARS_PER_TOKEN),
        }
    }
}

impl Default for Budget {
    /// 4,000 tokens (16,000 characters): room for a traceback and a table, small in any context.
    fn default() -> Self {
        Budget::Tokens(4_000)
    }
}

/// Share `total` among parts that need `needs[i]` each: parts that need less than an equal share
/// keep all of it, and what they leave goes to the others. No allocation: this runs per call.
pub(crate) fn share<const N: usize>(total: usize, needs: [usize; N]) -> [usize; N] {
    if needs.iter().sum::<usize>() <= total {
        return needs;
    }
    let mut granted = [0; N];
    let mut open = [true; N];
    let mut left = total;
    loop {
        let open_count = open.iter().filter(|o| **o).count();
        if open_count == 0 {
            break;
        }
        let each = left / open_count;
        let mut any_small = false;
        for i in 0..N {
            if open[i] && needs[i] <= each {
                granted[i] = needs[i];
                left -= needs[i];
                open[i] = false;
                any_small = true;
            }
        }
        if !any_small {
            for i in 0..N {
                if open[i] {
                    granted[i] = each;
                }
            }
            break;
        }
    }
    granted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_parts_keep_everything_and_leave_the_rest() {
        assert_eq!(share(100, [10, 500, 20]), [10, 70, 20]);
        assert_eq!(share(100, [500, 500]), [50, 50]);
        assert_eq!(share(100, [1, 2]), [1, 2]);
        assert_eq!(share(100, [40, 40, 40]), [33, 33, 33]);
        assert_eq!(share(0, [5]), [0]);
        assert_eq!(share(10, []), [0usize; 0]);
    }

    #[test]
    fn tokens_count_four_characters() {
        assert_eq!(Budget::Tokens(10).chars(), 40);
        assert_eq!(Budget::Chars(10).chars(), 10);
        assert_eq!(Budget::default().chars(), 16_000);
    }
}
