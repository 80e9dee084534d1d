package main

import (
	"context"
	"fmt"
	"time"
)

// scenario is one measurement. A scenario with a baseline is reported as a
// ratio to that baseline's rate in the same run and judged against target.
type scenario struct {
	name     string
	kind     string
	baseline string
	target   float64
	// needs names other baselines a scenario is compared with.
	needs []string
	// turns measures the scenario in turns with /ping (see turns.go), the
	// ratio being to that /ping; a scenario that leaves work behind it
	// (the win path's journal) must not, or /ping's turns would pay for it.
	turns bool
	run   func(ctx context.Context, w *world) (result, error)
}

// The baselines' names.
const (
	basePing  = "ping"
	baseRedis = "redis: flash-sale script"
	baseDB    = "postgres: payment transaction"
	baseNaive = "naive flash sale (postgres UPDATE)"
	scWin     = "flash sale: win"
	scSoldOut = "flash sale: sold out"
	scJoin    = "join a show"
	scComment = "comment"
	// scCommentModerated is comment ingest with the worker moderating
	// meanwhile: shown, not judged (the target is the API's ingest).
	scCommentModerated = "comment while moderating"
	scLike             = "like"
	scNotify           = "payment notification"
	scFanout           = "ping during campaign fan-out"
	scWinNaive         = "flash sale: win vs naive"
	scBarePlan         = "ping while PostgreSQL plans (bare SQL)"
	// scPingTurns is /ping in turns with itself: the check that turns are
	// fair, its ratio 1.00 up to the noise.
	scPingTurns = "ping in turns with ping"
)

// scenarios lists every measurement in the order they run: baselines first.
func scenarios() []scenario {
	return []scenario{
		{name: basePing, kind: kindBaseline, run: pingScenario},
		{name: baseRedis, kind: kindBaseline, run: redisCeiling},
		{name: baseDB, kind: kindBaseline, run: dbCeiling},
		{name: baseNaive, kind: kindBaseline, run: naiveFlashSale},
		{name: scPingTurns, kind: kindScenario, baseline: basePing, turns: true, run: pingScenario},
		{name: scWin, kind: kindScenario, baseline: basePing, target: 0.40, needs: []string{baseNaive}, run: flashSaleWin},
		{name: scSoldOut, kind: kindScenario, baseline: basePing, target: 0.80, turns: true, run: flashSaleSoldOut},
		{name: scJoin, kind: kindScenario, baseline: basePing, target: 0.50, turns: true, run: joinShow},
		{name: scComment, kind: kindScenario, baseline: basePing, target: 0.40, turns: true, run: postComments},
		{name: scCommentModerated, kind: kindScenario, baseline: basePing, run: postModeratedComments},
		{name: scLike, kind: kindScenario, baseline: basePing, target: 0.70, turns: true, run: postLikes},
		{name: scNotify, kind: kindScenario, baseline: baseDB, target: 0.50, run: paymentNotifications},
		{name: scFanout, kind: kindScenario, baseline: basePing, target: 0.70, run: campaignFanout},
	}
}

// pingScenario is GET /ping: the same binary and middleware as every
// scenario, doing nothing — the HTTP ceiling.
func pingScenario(ctx context.Context, w *world) (result, error) {
	return w.siyuLoad(ctx, sendPing, statusIs(200))
}

// siyuLoad runs an HTTP load against Siyu and records Siyu's peak memory
// (and its profile, with -profile).
func (w *world) siyuLoad(ctx context.Context, send request, check outcome) (result, error) {
	resetPeak(w.e.siyuPID())
	wait := w.prof.record(ctx, w.current, w.e.siyuPID(), w.o.warmup+200*time.Millisecond, w.o.duration-400*time.Millisecond)
	var res result
	if w.inTurns {
		// Measured in turns with /ping (the scenario's turns field).
		var ping result
		res, ping = httpTurns(ctx, w.e.siyuAddr, w.o, w.e.roles(), send, check)
		w.turnPing = &ping
	} else {
		res = httpLoad(ctx, w.e.siyuAddr, w.o, send, check)
	}
	wait()
	res.PeakMB = peakMB(w.e.siyuPID())
	if res.Requests == 0 {
		return res, fmt.Errorf("no request was answered")
	}
	return res, nil
}
