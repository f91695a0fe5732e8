// The checkout's root, compiled into the test binaries by this one file: no other test object
// carries the path, so ccache serves them to a checkout in any folder. Declared in test_util.h.
namespace loom::test {

const char* source_dir();
const char* source_dir() { return LOOM_SOURCE_DIR; }

}  // namespace loom::test
