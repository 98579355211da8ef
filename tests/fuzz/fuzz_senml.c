/*
 * fuzz_senml: libFuzzer harness for the SenML JSON (RFC 8428) decoder,
 * whose base fields carry over from record to record.  The input is one
 * payload, decoded (jansson, in the per-thread arena) and checked, with its
 * readings through QC, for the properties every decoder must keep
 * (decode_check.h).  A broken property traps, so that libFuzzer reports it
 * as a crash.
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
	fuzz_decode(DECODER_SENML, data, size);
	return 0;
}
