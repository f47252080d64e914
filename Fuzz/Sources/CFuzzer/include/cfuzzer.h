// libFuzzer's driver, called from pkgfetch-fuzz's own main: SwiftPM links a debug executable's entry
// point under another name, so libFuzzer's main() cannot be the program's.
#ifndef PKGFETCH_CFUZZER_H
#define PKGFETCH_CFUZZER_H
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
