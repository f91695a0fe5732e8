#include "train/loss_plot.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "core/error.h"
#include "core/mapped_file.h"
#include "train/canvas.h"

namespace loom::train {

namespace {

// ---- log.csv ----

bool parse_field(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(out);
}

// ---- PNG ----

void put_u32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

void chunk(std::string& out, const char* type, const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  std::string body(type, 4);
  body += data;
  out += body;
  put_u32(out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                           static_cast<uInt>(body.size()))));
}

// ---- drawing ----

// Tick spacing 1, 2 or 5 x 10^k giving about `want` intervals over span.
double nice_step(double span, int want) {
  const double raw = span / want, p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

std::string label(double v, double step) {
  char b[32];
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  std::snprintf(b, sizeof b, "%.*f", std::min(decimals, 6), v);
  return b;
}

}  // namespace

LossCurve parse_loss_log(const std::string& csv, const std::string& name) {
  LossCurve c;
  std::istringstream in(csv);
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line.rfind("step", 0) == 0) continue;
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) f.push_back(cell);
    if (!line.empty() && line.back() == ',') f.emplace_back();
    double step, v;
    if (f.size() < 6 || !parse_field(f[0], step))
      throw Error(name + ": line " + std::to_string(line_no) +
                  ": expected step,loss,lr,grad_norm,tokens_per_s,val_loss");
    if (parse_field(f[1], v)) {
      c.step.push_back(step);
      c.loss.push_back(v);
    } else if (!f[1].empty()) {
      throw Error(name + ": line " + std::to_string(line_no) + ": loss '" + f[1] +
                  "' is not a number");
    }
    if (parse_field(f[5], v)) {
      c.val_step.push_back(step);
      c.val_loss.push_back(v);
    } else if (!f[5].empty()) {
      throw Error(name + ": line " + std::to_string(line_no) + ": val_loss '" + f[5] +
                  "' is not a number");
    }
  }
  return c;
}

std::string encode_png(int width, int height, const std::vector<uint8_t>& rgb) {
  LOOM_ASSERT(width > 0 && height > 0 && rgb.size() == static_cast<size_t>(width) * height * 3,
              "encode_png: pixel buffer does not match the size");
  std::string raw;
  raw.reserve(static_cast<size_t>(height) * (1 + width * 3));
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);  // filter: none
    raw.append(reinterpret_cast<const char*>(rgb.data()) + static_cast<size_t>(y) * width * 3,
               static_cast<size_t>(width) * 3);
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::string z(zlen, '\0');
  if (compress2(reinterpret_cast<Bytef*>(z.data()), &zlen,
                reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                9) != Z_OK)
    throw Error("encode_png: zlib compress2 failed");
  z.resize(zlen);
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_u32(ihdr, static_cast<uint32_t>(width));
  put_u32(ihdr, static_cast<uint32_t>(height));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, RGB, deflate, adaptive, no interlace
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  return png;
}

namespace {

const uint8_t kBlack[3] = {0, 0, 0}, kGrid[3] = {225, 225, 225}, kBlue[3] = {31, 119, 180},
              kOrange[3] = {255, 127, 14};

// The plot area in pixels and the data range it shows; px/py map data to pixels.
struct Frame {
  int left, right, top, bottom;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  int px(double x) const {
    return left + static_cast<int>(std::lround((x - x0) / (x1 - x0) * (right - left)));
  }
  int py(double y) const {
    return bottom - static_cast<int>(std::lround((y - y0) / (y1 - y0) * (bottom - top)));
  }
};

// The range covering both curves, never empty, with 5% headroom above and below.
void fit_range(const LossCurve& c, Frame& f) {
  bool any = false;
  auto extend = [&](const std::vector<double>& xs, const std::vector<double>& ys) {
    for (size_t i = 0; i < xs.size(); ++i) {
      if (!any) {
        f.x0 = f.x1 = xs[i];
        f.y0 = f.y1 = ys[i];
        any = true;
      }
      f.x0 = std::min(f.x0, xs[i]);
      f.x1 = std::max(f.x1, xs[i]);
      f.y0 = std::min(f.y0, ys[i]);
      f.y1 = std::max(f.y1, ys[i]);
    }
  };
  extend(c.step, c.loss);
  extend(c.val_step, c.val_loss);
  if (f.x1 <= f.x0) f.x1 = f.x0 + 1;
  if (f.y1 - f.y0 < 1e-6) {
    f.y0 -= 0.5;
    f.y1 += 0.5;
  }
  const double pad = 0.05 * (f.y1 - f.y0);
  f.y0 -= pad;
  f.y1 += pad;
}

// Grid lines with tick labels, the axes and their names.
void draw_axes(Canvas& cv, const Frame& f, int height) {
  const double ys = nice_step(f.y1 - f.y0, 5), xs = nice_step(f.x1 - f.x0, 6);
  for (double y = std::ceil(f.y0 / ys) * ys; y <= f.y1 + 1e-9; y += ys) {
    cv.line(f.left, f.py(y), f.right, f.py(y), kGrid, 1);
    const std::string l = label(y, ys);
    draw_text(cv, f.left - 8 - static_cast<int>(l.size()) * kCharW, f.py(y) - kCharH / 2, l,
              kBlack);
  }
  for (double x = std::ceil(f.x0 / xs) * xs; x <= f.x1 + 1e-9; x += xs) {
    cv.line(f.px(x), f.top, f.px(x), f.bottom, kGrid, 1);
    const std::string l = label(x, xs);
    draw_text(cv, f.px(x) - static_cast<int>(l.size()) * kCharW / 2, f.bottom + 8, l, kBlack);
  }
  cv.line(f.left, f.top, f.left, f.bottom, kBlack, 1);
  cv.line(f.left, f.bottom, f.right, f.bottom, kBlack, 1);
  draw_text(cv, (f.left + f.right) / 2 - 2 * kCharW, height - kCharH - 10, "step", kBlack);
  draw_text(cv, 8, 10, "loss", kBlack);
}

void draw_legend(Canvas& cv, int right) {
  cv.rect(right - 250, 14, right - 226, 17, kBlue);
  draw_text(cv, right - 218, 9, "train", kBlack);
  cv.rect(right - 130, 14, right - 106, 17, kOrange);
  cv.rect(right - 121, 12, right - 115, 19, kOrange);
  draw_text(cv, right - 98, 9, "held-out", kBlack);
}

// Training loss as a blue line (a dot when there is one point), held-out loss as orange
// squares joined by a line.
void draw_curves(Canvas& cv, const Frame& f, const LossCurve& c) {
  for (size_t i = 1; i < c.step.size(); ++i)
    cv.line(f.px(c.step[i - 1]), f.py(c.loss[i - 1]), f.px(c.step[i]), f.py(c.loss[i]), kBlue, 2);
  if (c.step.size() == 1) {
    cv.rect(f.px(c.step[0]) - 1, f.py(c.loss[0]) - 1, f.px(c.step[0]) + 1, f.py(c.loss[0]) + 1,
            kBlue);
  }
  for (size_t i = 0; i < c.val_step.size(); ++i) {
    if (i > 0)
      cv.line(f.px(c.val_step[i - 1]), f.py(c.val_loss[i - 1]), f.px(c.val_step[i]),
              f.py(c.val_loss[i]), kOrange, 2);
    cv.rect(f.px(c.val_step[i]) - 3, f.py(c.val_loss[i]) - 3, f.px(c.val_step[i]) + 3,
            f.py(c.val_loss[i]) + 3, kOrange);
  }
}

}  // namespace

std::vector<uint8_t> draw_loss_curve(const LossCurve& c, int width, int height) {
  Canvas cv{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3, 255)};
  Frame f{80, width - 20, 40, height - 50};
  fit_range(c, f);
  draw_axes(cv, f, height);
  draw_legend(cv, f.right);
  draw_curves(cv, f, c);
  return cv.px;
}

void write_loss_plot(const std::string& csv_path, const std::string& png_path, int width,
                     int height) {
  const LossCurve c = parse_loss_log(read_file(csv_path), csv_path);
  write_file_atomic(png_path, encode_png(width, height, draw_loss_curve(c, width, height)));
}

}  // namespace loom::train
