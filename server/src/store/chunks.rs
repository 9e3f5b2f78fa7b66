//! Multi-row statements in a few fixed sizes. Every distinct row count is a distinct SQL
//! text that the connection has to prepare and keep in its statement cache; merged writes
//! arrive in batches of any size, so without this each batch size costs a prepare and
//! evicts statements that are still in use. Power-of-two sizes keep it to a handful per
//! table.

/// `items` in chunks whose sizes are powers of two no larger than `max`, largest first.
pub fn chunks<T>(items: Vec<T>, max: usize) -> impl Iterator<Item = Vec<T>> {
    let mut rest = items.into_iter();
    sizes(rest.len(), max).map(move |size| rest.by_ref().take(size).collect())
}

/// `chunks` of a slice.
pub fn slices<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    sizes(items.len(), max).map(move |size| {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        chunk
    })
}

fn sizes(total: usize, max: usize) -> impl Iterator<Item = usize> {
    let max = floor_power_of_two(max.max(1));
    let mut left = total;
    std::iter::from_fn(move || {
        (left > 0).then(|| {
            let size = floor_power_of_two(left).min(max);
            left -= size;
            size
        })
    })
}

fn floor_power_of_two(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(total: usize, max: usize) -> Vec<usize> {
        chunks((0..total).collect(), max).map(|c| c.len()).collect()
    }

    #[test]
    fn powers_of_two_largest_first() {
        assert_eq!(sizes(0, 256), Vec::<usize>::new());
        assert_eq!(sizes(1, 256), [1]);
        assert_eq!(sizes(23, 256), [16, 4, 2, 1]);
        assert_eq!(sizes(600, 256), [256, 256, 64, 16, 8]);
        assert_eq!(
            sizes(5, 3),
            [2, 2, 1],
            "a max that is no power of two rounds down"
        );
    }

    #[test]
    fn keeps_every_item_in_order() {
        let items: Vec<u32> = (0..1000).collect();
        let back: Vec<u32> = chunks(items.clone(), 128).flatten().collect();
        assert_eq!(back, items);
        let back: Vec<u32> = slices(&items, 64).flatten().copied().collect();
        assert_eq!(back, items);
    }
}
