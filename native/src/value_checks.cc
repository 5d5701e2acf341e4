// Checks that read an argument's values before MLX uses them, for the kernels that trust their
// input: index arrays that select matrices (read out of bounds otherwise) and matrices handed to
// LAPACK routines that corrupt memory or never return when a value is not finite.
#include <sstream>

#include "mlux.h"

namespace mlux {

void RequireIndicesBelow(const mx::array& indices, int64_t count, const char* op, const char* what) {
  if (indices.size() == 0) return;
  mx::array lo = mx::astype(mx::min(indices), mx::int64);
  mx::array hi = mx::astype(mx::max(indices), mx::int64);
  RequireMemoryFor({lo, hi});
  mx::eval({lo, hi});
  int64_t min = lo.item<int64_t>();
  int64_t max = hi.item<int64_t>();
  if (min < 0 || max >= count) {
    std::ostringstream out;
    out << "[" << op << "] " << what << " holds " << (min < 0 ? min : max) << ", out of range: it must lie in [0, "
        << count - 1 << "] (" << count << " matrices to choose from)";
    if (count == 0) out.str(std::string("[") + op + "] " + what + " selects matrices from an empty stack");
    throw std::invalid_argument(out.str());
  }
}

int64_t BatchCount(const mx::array& a) {
  int64_t count = 1;
  for (int i = 0; i + 2 < static_cast<int>(a.ndim()); ++i) count *= a.shape(i);
  return count;
}

void RequireFinite(const mx::array& a, const char* op) {
  if (!mx::issubdtype(a.dtype(), mx::inexact) || a.size() == 0) return;
  mx::array ok = mx::all(mx::isfinite(a));
  RequireMemoryFor({ok});
  if (!ok.item<bool>()) {
    throw std::invalid_argument(std::string("[linalg::") + op +
                                "] the matrix holds NaN or Infinity; this factorization needs finite values");
  }
}

}  // namespace mlux
