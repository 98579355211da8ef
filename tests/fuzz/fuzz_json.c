/*
 * fuzz_json: libFuzzer harness for the native JSON decoder, decode.c's own
 * strict parser.  The input is one payload.  Besides the properties every
 * decoder must keep (decode_check.h), the parser is held to the
 * jansson-based decoder it replaced (tests/unit/native_ref.h), as the unit
 * test check_decode_native does with its own mutations: the same return
 * code, reason, readings bit for bit and dropped counts.  A difference
 * traps, so that libFuzzer reports it as a crash.
 */
#include <stddef.h>
#include <stdint.h>

#include "sensors/decode.h"
#include "tests/fuzz/decode_check.h"
#include "tests/unit/native_ref.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_as_reference(const uint8_t *data, size_t size);

static struct decode_result ref;

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
	fuzz_decode(DECODER_NATIVE, data, size);
	if (size <= REF_TEXT_MAX)
		same_as_reference(data, size);
	return 0;
}

static void
same_as_reference(const uint8_t *data, size_t size)
{
	enum reason wn = REASON_COUNT, wr = REASON_COUNT;
	int rn = decode(DECODER_NATIVE, FUZZ_TOPIC, data, size, FUZZ_MAX_LEN,
	    FUZZ_NOW, &fuzz_res, &wn);
	int rr = ref_decode(
	    FUZZ_TOPIC, data, size, FUZZ_MAX_LEN, FUZZ_NOW, &ref, &wr);

	if (rn != rr || (rr != AQ_OK && wn != wr))
		__builtin_trap();
	if (memcmp(fuzz_res.dropped, ref.dropped, sizeof(ref.dropped)) != 0)
		__builtin_trap();
	if (rr != AQ_OK)
		return;
	if (fuzz_res.n != ref.n)
		__builtin_trap();
	for (int i = 0; i < ref.n; i++)
		if (!fuzz_same_reading(&fuzz_res.r[i], &ref.r[i]))
			__builtin_trap();
}
