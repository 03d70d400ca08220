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
/// keep all of it, and what they leave goes to the others.
pub(crate) fn share(total: usize, needs: &[usize]) -> Vec<usize> {
    let mut granted = vec![0; needs.len()];
    let mut open: Vec<usize> = (0..needs.len()).collect();
    let mut left = total;
    while !open.is_empty() {
        let each = left / open.len();
        let (small, large): (Vec<usize>, Vec<usize>) =
            open.iter().partition(|&&i| needs[i] <= each);
        if small.is_empty() {
            for &i in &large {
                granted[i] = each;
            }
            break;
        }
        for &i in &small {
            granted[i] = needs[i];
            left -= needs[i];
        }
        open = large;
    }
    granted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_parts_keep_everything_and_leave_the_rest() {
        assert_eq!(share(100, &[10, 500, 20]), vec![10, 70, 20]);
        assert_eq!(share(100, &[500, 500]), vec![50, 50]);
        assert_eq!(share(100, &[1, 2]), vec![1, 2]);
        assert_eq!(share(0, &[5]), vec![0]);
        assert_eq!(share(10, &[]), Vec::<usize>::new());
    }

    #[test]
    fn tokens_count_four_characters() {
        assert_eq!(Budget::Tokens(10).chars(), 40);
        assert_eq!(Budget::Chars(10).chars(), 10);
        assert_eq!(Budget::default().chars(), 16_000);
    }
}
