// Convolutions (mlx::core::conv1d), channels last as in MLX: input [N, L, C_in], weight
// [C_out, K, C_in / groups].
#include "mlux.h"

namespace mlux {

// conv1d(input, weight, stride, padding, dilation, groups)
MLUX_FN("conv1d", Conv1d) {
  mx::array input = ArrayArg(info, 0);
  mx::array weight = ArrayArg(info, 1);
  return Wrap(info.Env(), mx::conv1d(input, weight, IntArg(info, 2, "stride"), IntArg(info, 3, "padding"),
                                     IntArg(info, 4, "dilation"), IntArg(info, 5, "groups")));
}

}  // namespace mlux
