/*
 * fuzz_airgradient: libFuzzer harness for the AirGradient decoder, which
 * prefers compensated values to raw ones.  The input is one payload,
 * decoded (jansson, in the per-thread arena) and checked, with its reading
 * through QC, for the properties every decoder must keep (decode_check.h).
 * A broken property traps, so that libFuzzer reports it as a crash.
 */
#include <stddef.h>
#include <stdint.h>

#include "sensors/decode.h"
#include "tests/fuzz/decode_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	decode_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_decode(DECODER_AIRGRADIENT, data, size);
	return 0;
}
