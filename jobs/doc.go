// Package jobs runs Siyu's background work on asynq: the task types and
// their payloads, the handlers that call into the domains, the periodic
// schedules, and the adapters that implement the schedulers the domains
// declare (such as the outbox's Enqueuer).
package jobs
