//! Nearest-phrasing search over unit vectors. A library of normal size (a few thousand
//! phrasings) is scanned exactly; past [`EXACT_UP_TO`] vectors an inverted-file index
//! (spherical k-means cells, the nearest few probed per query) keeps a 10 000-objection
//! library to a small share of the dot products, at the cost of rarely missing a
//! neighbour that sits in an unprobed cell.

/// Libraries up to this many vectors are searched exactly (results never approximate).
pub const EXACT_UP_TO: usize = 16_384;
/// Cells probed per query: ~5 % of the vectors for a 50 000-phrasing library.
const PROBE: usize = 12;
const KMEANS_ITERATIONS: usize = 8;
/// k-means learns its cells from at most this many vectors (every n-th one).
const KMEANS_SAMPLE: usize = 8_192;

/// Dot product written with independent lanes so the compiler vectorises it (a plain
/// sequential sum cannot be reordered and runs an order of magnitude slower).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// 8-bit dot product (exact in `i32` for vectors of up to 133 000 dimensions). Uses AVX2
/// where the processor has it: the portable build targets SSE2, which has no 8-bit
/// widening, and runs the plain lanes below at least 3.5 times slower.
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has just been checked to support AVX2.
        return unsafe { dot_i8_avx2(a, b) };
    }
    dot_i8_lanes(a, b)
}

/// Sixteen codes at a time, widened to 16 bits, multiplied and summed in pairs into
/// eight 32-bit sums by one instruction (`vpmaddwd`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let whole = n - n % 16;
    let mut acc = _mm256_setzero_si256();
    for i in (0..whole).step_by(16) {
        // SAFETY: i + 16 <= whole <= both lengths; unaligned loads.
        let (x, y) = unsafe {
            (_mm_loadu_si128(a.as_ptr().add(i).cast::<__m128i>()), _mm_loadu_si128(b.as_ptr().add(i).cast::<__m128i>()))
        };
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_cvtepi8_epi16(x), _mm256_cvtepi8_epi16(y)));
    }
    let half = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256::<1>(acc));
    let pairs = _mm_add_epi32(half, _mm_shuffle_epi32::<0b01_00_11_10>(half));
    let sum = _mm_add_epi32(pairs, _mm_shuffle_epi32::<0b10_11_00_01>(pairs));
    let tail: i32 = a[whole..n].iter().zip(&b[whole..n]).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum();
    _mm_cvtsi128_si32(sum) + tail
}

/// Written with independent lanes so the compiler vectorises it.
#[inline(always)]
fn dot_i8_lanes(a: &[i8], b: &[i8]) -> i32 {
    const LANES: usize = 16;
    let mut acc = [0i32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: i32 = ca.remainder().iter().zip(cb.remainder()).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    acc.iter().sum::<i32>() + tail
}

/// A vector rounded to 8 bits with its own scale, and what the rounding lost.
struct Quantized {
    codes: Vec<i8>,
    scale: f32,
    /// Length of the rounded vector and of the rounding error.
    norm: f32,
    error: f32,
}

impl Quantized {
    fn of(v: &[f32]) -> Quantized {
        let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        let codes: Vec<i8> = v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect();
        let (mut norm, mut error) = (0.0f32, 0.0f32);
        for (&c, &x) in codes.iter().zip(v) {
            let r = f32::from(c) * scale;
            norm += r * r;
            error += (x - r) * (x - r);
        }
        Quantized { codes, scale, norm: norm.sqrt(), error: error.sqrt() }
    }
}

/// Every stored vector rounded to 8 bits, by position: a quarter of the memory to stream
/// (it stays in a core's cache where the `f32` rows do not), with a per-vector bound on
/// the error so no true neighbour is ever lost (see [`VectorIndex::top_per_group`]).
struct Codes {
    codes: Vec<i8>,
    scale: Vec<f32>,
    /// Length of each stored vector and of its rounding error.
    norm: Vec<f32>,
    error: Vec<f32>,
}

impl Codes {
    fn of(data: &[f32], dim: usize) -> Codes {
        let n = data.len().checked_div(dim).unwrap_or(0);
        let mut c = Codes {
            codes: Vec::with_capacity(data.len()),
            scale: Vec::with_capacity(n),
            norm: Vec::with_capacity(n),
            error: Vec::with_capacity(n),
        };
        for v in data.chunks_exact(dim.max(1)) {
            let q = Quantized::of(v);
            c.codes.extend_from_slice(&q.codes);
            c.scale.push(q.scale);
            c.norm.push(dot(v, v).sqrt());
            c.error.push(q.error);
        }
        c
    }
}

pub struct VectorIndex {
    dim: usize,
    /// Row-major, one vector per row; with cells, stored cell by cell (see `Cells`).
    data: Vec<f32>,
    codes: Codes,
    cells: Option<Cells>,
}

/// A cell's members sit next to each other in `data`, so probing a cell streams memory
/// instead of gathering rows from all over a 90 MB array.
struct Cells {
    centroids: Vec<f32>,
    /// Positions in `data` of each cell's members.
    ranges: Vec<std::ops::Range<usize>>,
    /// Row (insertion order) stored at each position, and position of each row.
    row_at: Vec<u32>,
    position_of: Vec<u32>,
}

impl VectorIndex {
    /// Indexes `vectors` (all of length `dim`, unit length) in the given order.
    pub fn build<'a>(dim: usize, vectors: impl IntoIterator<Item = &'a [f32]>) -> Self {
        let data: Vec<f32> = vectors.into_iter().flat_map(|v| v.iter().copied()).collect();
        let mut index = VectorIndex { dim, data, codes: Codes::of(&[], dim), cells: None };
        if index.len() > EXACT_UP_TO {
            let members = index.kmeans();
            let mut data = Vec::with_capacity(index.data.len());
            let (mut ranges, mut row_at) = (Vec::with_capacity(members.1.len()), Vec::with_capacity(index.len()));
            for cell in &members.1 {
                let start = row_at.len();
                for &i in cell {
                    data.extend_from_slice(index.row(i as usize));
                    row_at.push(i);
                }
                ranges.push(start..row_at.len());
            }
            let mut position_of = vec![0u32; row_at.len()];
            row_at.iter().enumerate().for_each(|(pos, &row)| position_of[row as usize] = pos as u32);
            index.data = data;
            index.cells = Some(Cells { centroids: members.0, ranges, row_at, position_of });
        }
        index.codes = Codes::of(&index.data, dim);
        index
    }

    /// True when every search scans every vector (no cells).
    pub fn is_exact(&self) -> bool {
        self.cells.is_none()
    }

    fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// The vector inserted `i`-th.
    pub fn row(&self, i: usize) -> &[f32] {
        let p = self.cells.as_ref().map_or(i, |c| c.position_of[i] as usize);
        self.at(p)
    }

    fn at(&self, position: usize) -> &[f32] {
        &self.data[position * self.dim..(position + 1) * self.dim]
    }

    /// Calls `visit(row, similarity)` for every vector that may be among the nearest to
    /// `query`: all of them (exact), or the members of the nearest cells.
    pub fn search(&self, query: &[f32], mut visit: impl FnMut(usize, f32)) {
        match &self.cells {
            None => (0..self.len()).for_each(|i| visit(i, dot(query, self.row(i)))),
            Some(cells) => {
                for cell in nearest_cells(&cells.centroids, self.dim, query, PROBE) {
                    for p in cells.ranges[cell].clone() {
                        visit(cells.row_at[p] as usize, dot(query, self.at(p)));
                    }
                }
            }
        }
    }

    /// Per group, the `k` rows most similar to `query`, best first: (row, similarity).
    /// `group_of(row)` puts a row in one of `groups` groups, or leaves it out. Rows are
    /// those [`VectorIndex::search`] visits, and the result is the same as keeping each
    /// group's best of its similarities: an 8-bit pass bounds every row's similarity from
    /// above and below, and only rows whose upper bound reaches both their group's k-th
    /// best lower bound and (taken highest bound first) its k-th best full-precision
    /// similarity so far are scored in full precision. Of equal similarities, the row
    /// visited first ranks first.
    pub fn top_per_group(
        &self,
        query: &[f32],
        groups: usize,
        k: usize,
        mut group_of: impl FnMut(usize) -> Option<usize>,
    ) -> Vec<Vec<(usize, f32)>> {
        debug_assert!(self.len() == 0 || query.len() == self.dim, "a query has the index's dimension");
        if k == 0 {
            return vec![Vec::new(); groups];
        }
        let q = Quantized::of(query);
        // Lower bounds, k per group, best first; and the rows that may still be among their
        // group's best (passed `group_of`, upper bound not below the floor when seen).
        let mut floor = vec![f32::NEG_INFINITY; groups * k];
        let mut seen: Vec<(u32, u32, f32)> = Vec::new();
        let row_of = |p: usize| self.cells.as_ref().map_or(p, |c| c.row_at[p] as usize);
        let mut visit = |p: usize| {
            let Some(g) = group_of(row_of(p)).filter(|&g| g < groups) else { return };
            let c = &self.codes;
            let approx = q.scale * c.scale[p] * dot_i8(&q.codes, &c.codes[p * self.dim..(p + 1) * self.dim]) as f32;
            // |q·v − q̂·v̂| ≤ |q̂|·|v − v̂| + |q − q̂|·|v|; the slack covers f32 rounding.
            let bound = q.norm * c.error[p] + q.error * c.norm[p] + 1e-4;
            let low = &mut floor[g * k..(g + 1) * k];
            if approx - bound > low[k - 1] {
                low[k - 1] = approx - bound;
                low.sort_by(|a, b| b.total_cmp(a));
            }
            // Floors only rise, so a row already below its group's is out for good.
            if approx + bound >= low[k - 1] {
                seen.push((p as u32, g as u32, approx + bound));
            }
        };
        match &self.cells {
            None => (0..self.len()).for_each(&mut visit),
            Some(cells) => nearest_cells(&cells.centroids, self.dim, query, PROBE)
                .into_iter()
                .for_each(|cell| cells.ranges[cell].clone().for_each(&mut visit)),
        }
        // Most promising first, so each group's k-th exact similarity soon rules out the rest.
        let mut order: Vec<usize> = (0..seen.len()).collect();
        order.sort_unstable_by(|&a, &b| seen[b].2.total_cmp(&seen[a].2));
        // (position, similarity, index in `seen`, which keeps the visiting order) per
        // group, best first.
        let mut kept: Vec<Vec<(usize, f32, usize)>> = vec![Vec::new(); groups];
        for nth in order {
            let (p, g, upper) = seen[nth];
            let (p, g) = (p as usize, g as usize);
            let top = &mut kept[g];
            if upper < floor[g * k + k - 1] || (top.len() == k && upper < top[k - 1].1) {
                continue;
            }
            let sim = dot(query, self.at(p));
            // Equal similarities rank in visiting order, as a plain scan keeps them.
            let ahead = |&(_, s, n): &(usize, f32, usize)| sim > s || (sim == s && nth < n);
            if top.len() < k || ahead(&top[k - 1]) {
                let at = top.iter().position(ahead).unwrap_or(top.len());
                top.insert(at, (p, sim, nth));
                top.truncate(k);
            }
        }
        kept.into_iter().map(|top| top.into_iter().map(|(p, sim, _)| (row_of(p), sim)).collect()).collect()
    }

    /// Calls `visit(row, similarity)` for each of `rows`: an exact search restricted to
    /// part of the index (one category's phrasings).
    pub fn scan_rows(&self, query: &[f32], rows: &[u32], mut visit: impl FnMut(usize, f32)) {
        rows.iter().for_each(|&i| visit(i as usize, dot(query, self.row(i as usize))));
    }

    /// Spherical k-means (√n cells, deterministic: evenly spaced seeds, fixed sample):
    /// (centroids, rows of each cell).
    fn kmeans(&self) -> (Vec<f32>, Vec<Vec<u32>>) {
        let n = self.len();
        let k = (n as f64).sqrt().round() as usize;
        let sample: Vec<usize> = (0..n).step_by(n.div_ceil(KMEANS_SAMPLE).max(1)).collect();
        let mut centroids: Vec<f32> = (0..k).flat_map(|c| self.row(sample[c * sample.len() / k]).to_vec()).collect();
        for _ in 0..KMEANS_ITERATIONS {
            let mut sums = vec![0.0f32; k * self.dim];
            for &i in &sample {
                let c = nearest_cells(&centroids, self.dim, self.row(i), 1)[0];
                sums[c * self.dim..(c + 1) * self.dim].iter_mut().zip(self.row(i)).for_each(|(s, x)| *s += x);
            }
            for (c, sum) in sums.chunks_exact(self.dim).enumerate() {
                let norm = dot(sum, sum).sqrt();
                // An empty cell keeps its seed.
                if norm > 0.0 {
                    centroids[c * self.dim..(c + 1) * self.dim].iter_mut().zip(sum).for_each(|(x, s)| *x = s / norm);
                }
            }
        }
        let mut members = vec![Vec::new(); k];
        for i in 0..n {
            members[nearest_cells(&centroids, self.dim, self.row(i), 1)[0]].push(i as u32);
        }
        (centroids, members)
    }
}

/// The `count` centroids closest to `query`, nearest first.
fn nearest_cells(centroids: &[f32], dim: usize, query: &[f32], count: usize) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = centroids.chunks_exact(dim).map(|c| dot(query, c)).zip(0..).collect();
    let count = count.min(scored.len());
    if count == 0 {
        return Vec::new();
    }
    scored.select_nth_unstable_by(count - 1, |a, b| b.0.total_cmp(&a.0));
    scored.truncate(count);
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u64, dim: usize) -> Vec<f32> {
        // xorshift: deterministic pseudo-random directions without a dependency.
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let v: Vec<f32> = (0..dim)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 2001) as f32 / 1000.0 - 1.0
            })
            .collect();
        let n = dot(&v, &v).sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let (a, b) = (unit(1, 37), unit(2, 37));
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-6);
    }

    #[test]
    fn eight_bit_dot_matches_the_plain_sum() {
        let a: Vec<i8> = (0..77).map(|i| ((i * 37) % 255 - 127) as i8).collect();
        let b: Vec<i8> = (0..77).map(|i| ((i * 91) % 255 - 127) as i8).collect();
        let plain: i32 = a.iter().zip(&b).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum();
        assert_eq!(dot_i8(&a, &b), plain);
        // Full-length vectors at the extremes, where a 16-bit sum would overflow.
        let (hi, lo) = (vec![127i8; 384], vec![-127i8; 384]);
        assert_eq!(dot_i8(&hi, &hi), 384 * 127 * 127);
        assert_eq!(dot_i8(&hi, &lo), -384 * 127 * 127);
        assert_eq!(dot_i8(&a[..64], &b[..64]), dot_i8_lanes(&a[..64], &b[..64]));
    }

    /// Per group, the k best of a full-precision scan of what `search` visits.
    fn brute_force(index: &VectorIndex, query: &[f32], groups: usize, k: usize) -> Vec<Vec<(usize, f32)>> {
        let mut all: Vec<Vec<(usize, f32)>> = vec![Vec::new(); groups];
        index.search(query, |row, sim| all[row % groups].push((row, sim)));
        for g in &mut all {
            g.sort_by(|a, b| b.1.total_cmp(&a.1));
            g.truncate(k);
        }
        all
    }

    #[test]
    fn the_eight_bit_pass_never_changes_the_best_rows_per_group() {
        for n in [300, EXACT_UP_TO + 2000] {
            let dim = 48;
            // Clustered vectors, so many rows sit close to each query and rounding matters.
            let mut vs: Vec<Vec<f32>> = (0..n as u64)
                .map(|i| {
                    let v: Vec<f32> =
                        unit(i % 7, dim).iter().zip(unit(i + 1000, dim)).map(|(a, b)| a + 0.05 * b).collect();
                    let norm = dot(&v, &v).sqrt();
                    v.into_iter().map(|x| x / norm).collect()
                })
                .collect();
            // Every third row repeats one of its group's: equal similarities, which must
            // rank in visiting order as the brute force's stable sort keeps them.
            for i in (15..n).step_by(3) {
                vs[i] = vs[i - 5].clone();
            }
            let index = VectorIndex::build(dim, vs.iter().map(Vec::as_slice));
            for q in (0..n).step_by(n / 9) {
                let query = &vs[q];
                let fast = index.top_per_group(query, 5, 3, |row| Some(row % 5));
                assert_eq!(fast, brute_force(&index, query, 5, 3), "query {q} of {n}");
                // A group that `group_of` leaves out stays empty.
                let odd_only = index.top_per_group(query, 2, 2, |row| (row % 2 == 1).then_some(1));
                assert!(odd_only[0].is_empty() && odd_only[1].iter().all(|(r, _)| r % 2 == 1));
            }
        }
    }

    #[test]
    fn small_libraries_are_searched_exactly() {
        let vs: Vec<Vec<f32>> = (0..100).map(|i| unit(i, 16)).collect();
        let index = VectorIndex::build(16, vs.iter().map(Vec::as_slice));
        let mut seen = 0;
        index.search(&vs[7], |_, _| seen += 1);
        assert_eq!(seen, 100);
    }

    #[test]
    fn large_libraries_probe_a_few_cells_and_still_find_the_nearest() {
        let dim = 24;
        let vs: Vec<Vec<f32>> = (0..EXACT_UP_TO as u64 + 4000).map(|i| unit(i, dim)).collect();
        let index = VectorIndex::build(dim, vs.iter().map(Vec::as_slice));
        assert!(!index.is_exact());
        // Stored cell by cell, yet every row is still found under its own number.
        assert!((0..vs.len()).step_by(101).all(|i| index.row(i) == vs[i].as_slice()));
        let mut found = 0;
        for q in (0..vs.len()).step_by(997) {
            // A query near (not at) a stored vector: its nearest neighbour must be found.
            let query: Vec<f32> = vs[q].iter().zip(unit(q as u64 + 99_999, dim)).map(|(a, b)| a + 0.2 * b).collect();
            let (mut best, mut scanned) = ((f32::MIN, usize::MAX), 0);
            index.search(&query, |i, s| {
                scanned += 1;
                if s > best.0 {
                    best = (s, i);
                }
            });
            assert!(scanned < vs.len() / 4, "scanned {scanned} of {}", vs.len());
            found += usize::from(best.1 == q);
        }
        let queries = vs.len().div_ceil(997);
        assert!(found * 10 >= queries * 9, "nearest found for {found} of {queries} queries");
    }
}
