{
  "includes": ["native/mlx-paths.gypi"],
  "targets": [
    {
      "target_name": "mlux",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native/src').filter(f => f.endsWith('.cc')).map(f => 'native/src/' + f).join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<(mlx_include)"],
      # NAPI_EXPERIMENTAL: Node-API "basic" finalizers run inside the garbage collection itself, which
      # the backstop in native/src/handles.cc needs to free dropped arrays in a synchronous loop.
      "defines": ["NAPI_EXPERIMENTAL", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      # -fno-trapping-math: nothing here reads floating-point exception flags, and without it GCC
      # keeps the selects of native/src/cpu_kernels.cc's exp as branches, so its loops do not vectorize.
      "cflags_cc": ["-std=c++20", "-fexceptions", "-frtti", "-O2", "-fno-trapping-math"],
      "libraries": ["<@(mlx_libraries)"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "GCC_ENABLE_CPP_RTTI": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++20",
        "MACOSX_DEPLOYMENT_TARGET": "14.0"
      }
    }
  ]
}
