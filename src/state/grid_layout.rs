//! The gallery grid's layout as plain arithmetic, so virtualization is tested natively: rows of
//! fixed height (a heading per generation, then rows of square cells), their offsets, and
//! which rows intersect the viewport.

/// What one row of the grid shows.
#[derive(Clone, Debug, PartialEq)]
pub enum RowKind {
    /// The heading of a generation: the index of its first item in the shown list.
    Heading { first: usize },
    /// Cells: indexes into the shown list.
    Cells { items: std::ops::Range<usize> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub top: f64,
    pub height: f64,
    pub kind: RowKind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    /// Width available for cells, in CSS pixels.
    pub width: f64,
    /// The smallest a cell may be; cells grow to fill the width.
    pub min_cell: f64,
    pub gap: f64,
    pub heading: f64,
}

impl Metrics {
    pub fn columns(&self) -> usize {
        (((self.width + self.gap) / (self.min_cell + self.gap)).floor() as usize).max(1)
    }

    pub fn cell(&self) -> f64 {
        let columns = self.columns() as f64;
        ((self.width - self.gap * (columns - 1.0)) / columns).max(1.0)
    }
}

/// Lays out groups given as the lengths of consecutive runs of the shown list.
pub fn layout(group_sizes: &[usize], metrics: Metrics) -> Vec<Row> {
    let columns = metrics.columns();
    let cell_row = metrics.cell() + metrics.gap;
    let mut rows = Vec::new();
    let (mut top, mut first) = (0.0, 0);
    for &size in group_sizes {
        rows.push(Row {
            top,
            height: metrics.heading,
            kind: RowKind::Heading { first },
        });
        top += metrics.heading;
        let mut start = first;
        while start < first + size {
            let end = (start + columns).min(first + size);
            rows.push(Row {
                top,
                height: cell_row,
                kind: RowKind::Cells { items: start..end },
            });
            top += cell_row;
            start = end;
        }
        first += size;
    }
    rows
}

pub fn total_height(rows: &[Row]) -> f64 {
    rows.last().map_or(0.0, |r| r.top + r.height)
}

/// The rows that intersect `[scroll_top - overscan, scroll_top + viewport + overscan]`.
pub fn visible(
    rows: &[Row],
    scroll_top: f64,
    viewport: f64,
    overscan: f64,
) -> std::ops::Range<usize> {
    let from = scroll_top - overscan;
    let to = scroll_top + viewport + overscan;
    let start = rows.partition_point(|r| r.top + r.height <= from);
    let end = rows.partition_point(|r| r.top < to);
    start..end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: Metrics = Metrics {
        width: 1000.0,
        min_cell: 180.0,
        gap: 8.0,
        heading: 40.0,
    };

    #[test]
    fn cells_fill_the_width() {
        assert_eq!(METRICS.columns(), 5);
        let cell = METRICS.cell();
        assert!((cell * 5.0 + 8.0 * 4.0 - 1000.0).abs() < 1e-9);
        assert_eq!(
            Metrics {
                width: 100.0,
                ..METRICS
            }
            .columns(),
            1,
            "never zero columns"
        );
    }

    #[test]
    fn groups_become_a_heading_and_rows() {
        let rows = layout(&[2, 7], METRICS);
        let kinds: Vec<RowKind> = rows.iter().map(|r| r.kind.clone()).collect();
        assert_eq!(
            kinds,
            [
                RowKind::Heading { first: 0 },
                RowKind::Cells { items: 0..2 },
                RowKind::Heading { first: 2 },
                RowKind::Cells { items: 2..7 },
                RowKind::Cells { items: 7..9 },
            ]
        );
        for pair in rows.windows(2) {
            assert!(
                (pair[0].top + pair[0].height - pair[1].top).abs() < 1e-9,
                "rows touch"
            );
        }
    }

    #[test]
    fn only_rows_near_the_viewport_are_visible() {
        // 1,000 items in generations of 4: 250 headings and 250 cell rows.
        let rows = layout(&[4; 250], METRICS);
        assert_eq!(rows.len(), 500);
        let total = total_height(&rows);
        let mut most = 0;
        let mut scroll = 0.0;
        while scroll < total {
            let shown = visible(&rows, scroll, 800.0, 400.0);
            assert!(!shown.is_empty());
            most = most.max(shown.len());
            scroll += 137.0;
        }
        // A 1,600 px window over alternating 40 px and ~200 px rows cuts at most 15 of them.
        assert!(most <= 15, "rows at once: {most}");
        assert_eq!(visible(&rows, total + 5000.0, 800.0, 0.0), 500..500);
        assert_eq!(visible(&[], 0.0, 800.0, 0.0), 0..0);
    }
}
