/*
 * fuzz_rule: libFuzzer harness for the rule grammar.  The input, cut at its
 * first NUL, is parsed as a "when" expression, as a duration and as
 * matchers, and filled as a summary template.  Properties: a parse that
 * succeeds gives a known variable and operator and a finite threshold, and
 * its canonical form ("NAME OP THRESHOLD" with the threshold printed
 * exactly) parses again to the same rule; a failure leaves a reason; a
 * filled template is NUL-terminated within its buffer.  A broken property
 * traps, so that libFuzzer reports it as a crash.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/rule.h"

#define TEXT_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[TEXT_MAX + 1], err[128], again[128], out[64];
	struct rule_when w, w2;
	struct rule_matcher m[RULE_MATCHERS_MAX];
	struct rule r = {0};
	struct rule_fill f = {
	    .cell = "r000c000", .area = "a", .value = 1.5, .has_value = true};
	uint32_t n;
	int64_t d;
	size_t len = size < TEXT_MAX ? size : TEXT_MAX;

	memcpy(text, data, len);
	text[len] = '\0';
	err[0] = '\0';
	if (rule_parse_when(text, &w, err, sizeof(err)) == AQ_OK) {
		if ((unsigned)w.var >= RV_COUNT || (unsigned)w.op > RULE_NE ||
		    !isfinite(w.threshold))
			__builtin_trap();
		snprintf(again, sizeof(again), "%s %s %.17g", w.name,
		    rule_op_name(w.op), w.threshold);
		if (rule_parse_when(again, &w2, err, sizeof(err)) != AQ_OK ||
		    w2.var != w.var || w2.ind != w.ind || w2.op != w.op ||
		    w2.threshold != w.threshold)
			__builtin_trap();
		r.when = w;
		r.clear = w.threshold;
		if (rule_holds(&w, w.threshold + 1) &&
		    rule_holds(&w, w.threshold - 1) && w.op != RULE_NE)
			__builtin_trap();
	} else if (err[0] == '\0') {
		__builtin_trap();
	}
	if (rule_parse_duration(text, &d) == AQ_OK &&
	    (d < 0 || d > 366 * 86400))
		__builtin_trap();
	if (rule_parse_matchers(
		text, m, RULE_MATCHERS_MAX, &n, err, sizeof(err)) == AQ_OK) {
		if (n > RULE_MATCHERS_MAX)
			__builtin_trap();
		for (uint32_t k = 0; k < n; k++)
			if (m[k].key[0] == '\0' || m[k].value[0] == '\0')
				__builtin_trap();
	}
	memset(out, 'x', sizeof(out));
	(void)rule_fill(&r, text, &f, len % 2 == 1, out, sizeof(out));
	if (memchr(out, '\0', sizeof(out)) == NULL)
		__builtin_trap();
	return 0;
}
