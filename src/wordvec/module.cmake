# sqrt in GloVe's AdaGrad loop may vectorise: errno is never read in Loom (results are unchanged;
# only the errno side effect goes).
target_compile_options(loom_wordvec PRIVATE -fno-math-errno)
