//! Matrix products on the plain flex device, computed on the tensors' host buffers: a linear
//! layer's `rows · weight + bias`, and attention's batched products.
//!
//! burn-flex allocates every matrix product's output zeroed and then copies it once more to
//! align it, and adds a bias in a pass of its own: in a profile of MiniLM's forward pass the
//! zeroing and the copy alone took 12% of the time (docs/performance.md). Here an output is
//! allocated once and never zeroed: with a bias, each row starts as the bias and the product
//! is added to it; without, the product is written over the fresh buffer. The work is split
//! into blocks of rows or of whole matrices, spread over rayon's threads.

use std::mem::MaybeUninit;

use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::tensor::{DType, Tensor, TensorData};

use crate::model::host::{contiguous, for_each_chunk};

/// Multiply-adds below which a block is not split further: enough to outweigh packing the
/// weight once more and scheduling the task.
const WORK_PER_TASK: usize = 1 << 22;

/// `rows · weight + bias`.
///
/// # Shapes
///
/// - rows: `[rows, d_input]`
/// - weight: `[d_input, d_output]`
/// - bias: `[d_output]`
/// - output: `[rows, d_output]`
pub fn linear(rows: Tensor<2>, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<2> {
    let (rows, weight) = (rows.into_dispatch(), weight.into_dispatch());
    Tensor::from_dispatch(match bias {
        Some(bias) => {
            <Dispatch as HostProducts>::host_linear_biased(rows, weight, bias.into_dispatch())
        }
        None => <Dispatch as HostProducts>::host_linear(rows, weight),
    })
}

/// `lhs · rhs` for every pair of matrices of a batch: `[batch, heads, m, k] · [batch, heads,
/// k, n]`. Either side may be a view whose matrices are not laid out in order (keys
/// transposed).
pub fn batched(lhs: Tensor<4>, rhs: Tensor<4>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as HostProducts>::host_batched(
        lhs.into_dispatch(),
        rhs.into_dispatch(),
    ))
}

/// Matrix products computed by the host kernels.
#[backend_extension(Flex)]
pub trait HostProducts: Backend {
    /// `rows · weight`, shapes as [`linear`]'s.
    fn host_linear(rows: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `rows · weight + bias`, shapes as [`linear`]'s.
    fn host_linear_biased(
        rows: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// `lhs · rhs` matrix by matrix, shapes as [`batched`]'s.
    fn host_batched(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl HostProducts for Flex {
    fn host_linear(rows: FlexTensor, weight: FlexTensor) -> FlexTensor {
        linear_on_host(rows, weight, None)
    }

    fn host_linear_biased(rows: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        linear_on_host(rows, weight, Some(bias))
    }

    fn host_batched(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
        let (lhs_shape, rhs_shape) = (lhs.layout().shape(), rhs.layout().shape());
        let same_batch = lhs_shape.num_dims() == 4
            && rhs_shape.num_dims() == 4
            && lhs_shape[..2] == rhs_shape[..2]
            && lhs_shape[3] == rhs_shape[2];
        if !same_batch || lhs.dtype() != DType::F32 || rhs.dtype() != DType::F32 {
            return Flex::float_matmul(lhs, rhs);
        }
        let (batch, heads) = (lhs_shape[0], lhs_shape[1]);
        let (m, n) = (lhs_shape[2], rhs_shape[3]);
        let output = batched_product(&Operand::of(&lhs), &Operand::of(&rhs), batch * heads);
        FlexTensor::from_data(TensorData::new(output, [batch, heads, m, n]))
    }
}

/// One side of a batched product: its buffer, and where each value of it lies.
struct Operand<'a> {
    values: &'a [f32],
    start: isize,
    /// Strides of `[batch, heads, rows, columns]`, in values.
    strides: [isize; 4],
    /// `[rows, columns]` of each matrix.
    size: [usize; 2],
    /// Matrices per item of the batch.
    heads: usize,
}

impl<'a> Operand<'a> {
    fn of(tensor: &'a FlexTensor) -> Self {
        let layout = tensor.layout();
        let strides = layout.strides();
        let shape = layout.shape();
        Self {
            values: tensor.storage::<f32>(),
            start: layout.start_offset() as isize,
            strides: [strides[0], strides[1], strides[2], strides[3]],
            size: [shape[2], shape[3]],
            heads: shape[1],
        }
    }

    /// Where matrix `index` (of `[batch, heads]` in order) starts.
    fn matrix(&self, index: usize) -> *const f32 {
        let offset = self.start
            + (index / self.heads) as isize * self.strides[0]
            + (index % self.heads) as isize * self.strides[1];
        // SAFETY: the offset is that of a value of the view, which lies in its buffer.
        unsafe { self.values.as_ptr().offset(offset) }
    }
}

/// The `count` products `lhs[i] · rhs[i]`, in order, in a buffer that is written once.
fn batched_product(lhs: &Operand, rhs: &Operand, count: usize) -> Vec<f32> {
    let ([m, k], n) = (lhs.size, rhs.size[1]);
    let per_task = WORK_PER_TASK
        .div_ceil((m * k * n).max(1))
        .clamp(1, count.max(1));
    written_once(count * m * n, per_task * m * n, |index, block| {
        for (offset, out) in block.chunks_exact_mut(m * n).enumerate() {
            let matrix = index * per_task + offset;
            // SAFETY: each operand's pointer and strides address the values of its matrix
            // `matrix`; the output matrix is `m × n` row-major.
            unsafe {
                product_into(
                    out,
                    n,
                    false,
                    [m, k, n],
                    (lhs.matrix(matrix), [lhs.strides[2], lhs.strides[3]]),
                    (rhs.matrix(matrix), [rhs.strides[2], rhs.strides[3]]),
                );
            }
        }
    })
}

/// A buffer of `len` values written once: `write(index, chunk)` is given each consecutive
/// `chunk_len`-long chunk of it (the last may be shorter), over rayon's threads, and must
/// write every value of its chunk.
fn written_once(
    len: usize,
    chunk_len: usize,
    write: impl Fn(usize, &mut [MaybeUninit<f32>]) + Send + Sync,
) -> Vec<f32> {
    let mut output: Vec<f32> = Vec::with_capacity(len);
    if len > 0 {
        for_each_chunk(&mut output.spare_capacity_mut()[..len], chunk_len, write);
        // SAFETY: every chunk of the first `len` values was written by `write`.
        unsafe { output.set_len(len) };
    }
    output
}

/// `out ← lhs · rhs`, or `out ← out + lhs · rhs` with `add_to_out`, on one thread: `out` is
/// `m × n` with rows `out_row` apart, and each operand is given as where its first value lies
/// and its `[row, column]` strides.
///
/// # Safety
/// The operands' pointers and strides address `m × k` and `k × n` readable values, and `out`
/// holds `m × n` of them, every one written before it is read when `add_to_out`.
unsafe fn product_into(
    out: &mut [MaybeUninit<f32>],
    out_row: usize,
    add_to_out: bool,
    [m, k, n]: [usize; 3],
    (lhs, [lhs_row, lhs_column]): (*const f32, [isize; 2]),
    (rhs, [rhs_row, rhs_column]): (*const f32, [isize; 2]),
) {
    debug_assert!(out.len() >= m.saturating_sub(1) * out_row + n);
    // SAFETY: as the caller guarantees.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr().cast::<f32>(),
            1,
            out_row as isize,
            add_to_out,
            lhs,
            lhs_column,
            lhs_row,
            rhs,
            rhs_column,
            rhs_row,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// [`HostProducts`]'s product on flex tensors; burn-flex's ops for a float type other than f32.
fn linear_on_host(rows: FlexTensor, weight: FlexTensor, bias: Option<FlexTensor>) -> FlexTensor {
    let all_f32 = [&rows, &weight]
        .into_iter()
        .chain(&bias)
        .all(|tensor| tensor.dtype() == DType::F32);
    if !all_f32 {
        let product = Flex::float_matmul(rows, weight);
        return match bias {
            Some(bias) => {
                let width = bias.layout().shape()[0];
                Flex::float_add(product, Flex::float_reshape(bias, [1, width].into()))
            }
            None => product,
        };
    }
    let (rows, weight, bias) = (contiguous(rows), contiguous(weight), bias.map(contiguous));
    let (count, d_input) = (rows.layout().shape()[0], rows.layout().shape()[1]);
    let d_output = weight.layout().shape()[1];
    let output = product(
        Sizes {
            rows: count,
            d_input,
            d_output,
        },
        rows.as_slice::<f32>().expect("contiguous f32"),
        weight.as_slice::<f32>().expect("contiguous f32"),
        bias.as_ref()
            .map(|bias| bias.as_slice::<f32>().expect("contiguous f32")),
    );
    FlexTensor::from_data(TensorData::new(output, [count, d_output]))
}

/// The sizes of one product.
#[derive(Clone, Copy)]
struct Sizes {
    rows: usize,
    d_input: usize,
    d_output: usize,
}

/// `rows · weight (+ bias)`, row-major, in a buffer that is written once.
fn product(sizes: Sizes, rows: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let Sizes {
        rows: count,
        d_input,
        d_output,
    } = sizes;
    assert_eq!(rows.len(), count * d_input, "rows are [rows, d_input]");
    assert_eq!(
        weight.len(),
        d_input * d_output,
        "weight is [d_input, d_output]"
    );
    if let Some(bias) = bias {
        assert_eq!(bias.len(), d_output, "bias is [d_output]");
    }
    let block_rows = rows_per_block(sizes);
    written_once(count * d_output, block_rows * d_output, |index, block| {
        let first_row = index * block_rows;
        let block_rows = block.len() / d_output;
        if let Some(bias) = bias {
            for row in block.chunks_exact_mut(d_output) {
                for (out, &b) in row.iter_mut().zip(bias) {
                    out.write(b);
                }
            }
        }
        let lhs = &rows[first_row * d_input..(first_row + block_rows) * d_input];
        // SAFETY: the operands are `block_rows × d_input` and `d_input × d_output` row-major,
        // the output block `block_rows × d_output`; it is added to only when the bias was
        // written into it above.
        unsafe {
            product_into(
                block,
                d_output,
                bias.is_some(),
                [block_rows, d_input, d_output],
                (lhs.as_ptr(), [d_input as isize, 1]),
                (weight.as_ptr(), [d_output as isize, 1]),
            );
        }
    })
}

/// Rows per block: the rows shared evenly among rayon's threads, but no fewer than make
/// [`WORK_PER_TASK`] multiply-adds.
fn rows_per_block(sizes: Sizes) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let even = sizes.rows.div_ceil(threads);
    let enough = WORK_PER_TASK.div_ceil((sizes.d_input * sizes.d_output).max(1));
    even.max(enough).clamp(1, sizes.rows.max(1))
}

#[cfg(test)]
mod tests {
    use burn::tensor::module::linear as burns_linear;
    use burn::tensor::{Device, Distribution, Tolerance};

    use super::*;

    /// The product and bias burn computes, with and without the bias, for shapes from a single
    /// row to several blocks of rows with a short last one.
    #[test]
    fn computes_what_burns_linear_does() {
        let device = Device::flex();
        for (count, d_input, d_output) in [(1, 3, 2), (7, 5, 9), (1_000, 64, 96), (0, 4, 3)] {
            let rows = Tensor::<2>::random([count, d_input], Distribution::Default, &device);
            let weight = Tensor::<2>::random([d_input, d_output], Distribution::Default, &device);
            let bias = Tensor::<1>::random([d_output], Distribution::Default, &device);
            for bias in [Some(bias), None] {
                let expected = burns_linear(rows.clone(), weight.clone(), bias.clone());
                let ours = linear(rows.clone(), weight.clone(), bias);
                assert_eq!(ours.dims(), [count, d_output]);
                ours.into_data()
                    .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::default());
            }
        }
    }

    /// A view that is not laid out in order (a transposed weight) is read as its values.
    #[test]
    fn reads_transposed_views() {
        let device = Device::flex();
        let rows = Tensor::<2>::random([10, 6], Distribution::Default, &device);
        let weight_t = Tensor::<2>::random([4, 6], Distribution::Default, &device);
        let expected = rows.clone().matmul(weight_t.clone().transpose());
        linear(rows, weight_t.transpose(), None)
            .into_data()
            .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::default());
    }

    /// Every pair's product, for keys transposed as attention reads them and for batches
    /// that span several tasks and end in a short one.
    #[test]
    fn batched_products_match_burns() {
        let device = Device::flex();
        for [batch, heads, m, k, n] in [[2, 3, 5, 4, 6], [3, 12, 64, 32, 64], [1, 1, 1, 1, 1]] {
            let query = Tensor::<4>::random([batch, heads, m, k], Distribution::Default, &device);
            let key = Tensor::<4>::random([batch, heads, n, k], Distribution::Default, &device);
            let expected = query.clone().matmul(key.clone().swap_dims(2, 3));
            let ours = batched(query, key.swap_dims(2, 3));
            assert_eq!(ours.dims(), [batch, heads, m, n]);
            ours.into_data()
                .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::default());
        }
    }

    /// A batch that broadcasts falls back to burn's product.
    #[test]
    fn broadcast_batches_fall_back() {
        let device = Device::flex();
        let lhs = Tensor::<4>::random([2, 3, 4, 5], Distribution::Default, &device);
        let rhs = Tensor::<4>::random([1, 3, 5, 2], Distribution::Default, &device);
        let expected = lhs.clone().matmul(rhs.clone());
        batched(lhs, rhs)
            .into_data()
            .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::default());
    }

    /// Blocks share the rows among the threads, and stay large enough to pay.
    #[test]
    fn blocks_are_even_but_not_tiny() {
        let threads = rayon::current_num_threads();
        let sizes = |rows, d| Sizes {
            rows,
            d_input: d,
            d_output: d,
        };
        assert_eq!(
            rows_per_block(sizes(4_096, 384)),
            4_096usize.div_ceil(threads).max(29)
        );
        assert_eq!(rows_per_block(sizes(10, 8)), 10);
        assert_eq!(rows_per_block(sizes(0, 8)), 1);
    }
}
