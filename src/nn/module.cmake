# sqrt in the optimiser and norm loops may vectorise: errno is never read in Loom (results are
# unchanged; only the errno side effect goes).
target_compile_options(loom_nn PRIVATE -fno-math-errno)
