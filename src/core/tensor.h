// Tensor (owner) and TensorView (never owns): shape, dtype, contiguous row-major storage that is
// either an aligned heap block or a window into a memory-mapped file.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "core/dtype.h"
#include "core/error.h"

namespace loom {

class MappedFile;

// Up to 4 dimensions, outermost first; a rank-0 shape has one element.
class Shape {
 public:
  static constexpr int kMaxRank = 4;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[static_cast<size_t>(i)]; }
  int64_t& operator[](int i) { return dims_[static_cast<size_t>(i)]; }
  int64_t numel() const;
  int64_t last() const { return rank_ == 0 ? 1 : dims_[static_cast<size_t>(rank_ - 1)]; }
  int64_t rows() const { return rank_ == 0 ? 1 : numel() / last(); }
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const;  // "(2, 3)"

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

class TensorView {
 public:
  TensorView() = default;
  TensorView(void* data, DType dtype, Shape shape) : data_(data), dtype_(dtype), shape_(shape) {}

  void* data() const { return data_; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return dtype_bytes(dtype_, numel()); }
  size_t row_bytes() const { return dtype_bytes(dtype_, shape_.last()); }
  bool empty() const { return data_ == nullptr; }

  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  float* f32() const {
    LOOM_ASSERT(dtype_ == DType::F32, "tensor is not f32");
    return static_cast<float*>(data_);
  }
  // Row r of the tensor seen as a matrix (rows() x last()).
  void* row(int64_t r) const { return static_cast<char*>(data_) + static_cast<size_t>(r) * row_bytes(); }
  // The same bytes with another shape of equal element count.
  TensorView reshaped(Shape s) const;

 private:
  void* data_ = nullptr;
  DType dtype_ = DType::F32;
  Shape shape_;
};

class Tensor {
 public:
  Tensor() = default;
  // Uninitialised storage, 64-byte aligned.
  static Tensor empty(Shape shape, DType dtype = DType::F32);
  static Tensor zeros(Shape shape, DType dtype = DType::F32);
  // A window into a mapped file; the tensor keeps the mapping alive. Checks that the window lies
  // inside the file and throws loom::Error naming the file and `name` otherwise.
  static Tensor mapped(std::shared_ptr<const MappedFile> file, size_t offset, Shape shape,
                       DType dtype, const std::string& name);

  const TensorView& view() const { return view_; }
  void* data() const { return view_.data(); }
  DType dtype() const { return view_.dtype(); }
  const Shape& shape() const { return view_.shape(); }
  int64_t numel() const { return view_.numel(); }
  size_t nbytes() const { return view_.nbytes(); }
  float* f32() const { return view_.f32(); }
  bool defined() const { return holder_ != nullptr; }
  bool is_mapped() const { return mapped_; }
  // A deep copy with its own storage.
  Tensor clone() const;
  // Converted copy (dequantise/quantise as needed).
  Tensor to(DType dtype) const;

 private:
  std::shared_ptr<const void> holder_;
  TensorView view_;
  bool mapped_ = false;
};

}  // namespace loom
