/*
 * api_alerts: /api/v1/alerts (list, one, ack), /api/v1/silences (list,
 * add, remove), /api/v1/notifications (dead letters) and
 * /api/v1/events (Server-Sent Events of the service's ring, woken by
 * api_sse_waker(); the stream list lives in struct api under sse_mu).
 * Without an alert service the routes answer 503.  Handlers as
 * api_internal.h says.
 */
#ifndef AQ_WEB_API_ALERTS_H
#define AQ_WEB_API_ALERTS_H

#include "web/api_internal.h"

handler_fn api_alerts, api_alert, api_ack, api_silences, api_silence_add,
    api_silence_rm, api_notifications, api_events;
bool api_alerts_on(struct req *r);
ssize_t api_sse_read(void *cls, uint64_t pos, char *out, size_t max);
void api_sse_free(void *cls);
void api_sse_reap(struct api *a);
uint32_t api_sse_due(struct api *a, uint64_t seen, bool all);
void *api_sse_waker(void *arg);

#endif
