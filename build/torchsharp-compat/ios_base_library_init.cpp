// Stand-in for std::ios_base_library_init(), which libstdc++ gained in GCC 13 (GLIBCXX_3.4.32).
// libLibTorchSharp.so references it only to make sure the standard streams are initialised;
// constructing one static std::ios_base::Init does exactly that on older libstdc++.
#include <ios>

namespace std {
void ios_base_library_init() {
    static ios_base::Init init;
}
}
