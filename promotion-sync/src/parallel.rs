//! Pure per-item work spread over the cores.

/// `f` over `items`, in order, on up to as many threads as there are cores (one chunk each).
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Below this, starting threads costs more than it saves.
    if threads < 2 || items.len() < 64 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_order_of_the_items_on_every_path() {
        for n in [0, 1, 63, 64, 1001] {
            let items: Vec<u64> = (0..n).collect();
            let squares = super::map(&items, |i| i * i);
            assert_eq!(
                squares,
                items.iter().map(|i| i * i).collect::<Vec<_>>(),
                "{n}"
            );
        }
    }
}
