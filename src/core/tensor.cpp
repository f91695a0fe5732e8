#include "core/tensor.h"

#include <cstdlib>
#include <cstring>

#include "core/mapped_file.h"

namespace loom {

Shape::Shape(std::initializer_list<int64_t> dims) {
  LOOM_ASSERT(dims.size() <= kMaxRank, "rank above 4");
  for (int64_t d : dims) {
    LOOM_ASSERT(d >= 0, "negative dimension");
    dims_[static_cast<size_t>(rank_++)] = d;
  }
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<size_t>(i)];
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i) {
    if (dims_[static_cast<size_t>(i)] != o.dims_[static_cast<size_t>(i)]) return false;
  }
  return true;
}

std::string Shape::str() const {
  std::string s = "(";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[static_cast<size_t>(i)]);
  }
  return s + ")";
}

TensorView TensorView::reshaped(Shape s) const {
  LOOM_ASSERT(s.numel() == numel(), "reshape changes the element count");
  return TensorView(data_, dtype_, s);
}

Tensor Tensor::empty(Shape shape, DType dtype) {
  LOOM_ASSERT(shape.last() % dtype_block_elems(dtype) == 0, "row not a whole number of blocks");
  size_t bytes = dtype_bytes(dtype, shape.numel());
  size_t alloc = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, alloc == 0 ? 64 : alloc);
  if (p == nullptr) throw Error("out of memory allocating a tensor of shape " + shape.str());
  Tensor t;
  t.holder_ = std::shared_ptr<void>(p, std::free);
  t.view_ = TensorView(p, dtype, shape);
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.data(), 0, t.nbytes());
  return t;
}

Tensor Tensor::mapped(std::shared_ptr<const MappedFile> file, size_t offset, Shape shape,
                      DType dtype, const std::string& name) {
  if (shape.last() % dtype_block_elems(dtype) != 0) {
    throw Error(file->path() + ": tensor '" + name + "' of shape " + shape.str() + " and type " +
                dtype_name(dtype) + ": rows must be a multiple of " +
                std::to_string(dtype_block_elems(dtype)) + " elements");
  }
  size_t bytes = dtype_bytes(dtype, shape.numel());
  if (offset > file->size() || bytes > file->size() - offset) {
    throw Error(file->path() + ": tensor '" + name + "' needs bytes [" + std::to_string(offset) +
                ", " + std::to_string(offset + bytes) + ") but the file has " +
                std::to_string(file->size()) + " bytes (truncated?)");
  }
  Tensor t;
  t.view_ = TensorView(const_cast<uint8_t*>(file->data()) + offset, dtype, shape);
  t.holder_ = std::shared_ptr<const void>(file, file.get());
  t.mapped_ = true;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape(), dtype());
  std::memcpy(t.data(), data(), nbytes());
  return t;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == this->dtype()) return clone();
  Tensor out = empty(shape(), dtype);
  int64_t rows = shape().rows(), n = shape().last();
  std::unique_ptr<float[]> tmp(new float[static_cast<size_t>(n)]);
  for (int64_t r = 0; r < rows; ++r) {
    to_f32(this->dtype(), view_.row(r), tmp.get(), n);
    from_f32(dtype, tmp.get(), out.view().row(r), n);
  }
  return out;
}

}  // namespace loom
