// Package accesstoken keeps the access tokens Siyu calls WeChat and WeCom
// with in one cache shared by every replica and worker.
//
// A Cache holds one token (the mini-program's stable_token, or a WeCom
// corp's gettoken) in Redis, as a hash under a key with a hash tag so that
// the token, its refresh lock and its back-off marker live in the same
// Redis Cluster slot:
//
//   - One process refreshes at a time: the refresher holds a lock in Redis
//     (SET NX PX, released by compare-and-delete); the others keep using the
//     current token while it is still valid, or wait for the refresher when
//     there is none.
//   - Tokens are refreshed before they expire (Config.RefreshBefore), so
//     callers rarely wait at all.
//   - A failed upstream fetch sets a shared back-off marker (growing from
//     Config.MinBackoff to Config.MaxBackoff), so a WeChat outage or quota
//     error does not turn every request into another fetch.
//   - Each process keeps the token for a short while (Config.LocalTTL) and
//     folds concurrent loads into one (singleflight). When Redis is down the
//     process keeps using its local token until it expires and then fetches
//     on its own at most once per back-off period, so a Redis outage costs at
//     most one upstream call per process, never one per request.
//   - Retry runs an SDK call and, when WeChat answers that the token is
//     invalid or expired (40001, 40014, 42001), invalidates that exact token
//     (compare-and-delete, so a token another process has just fetched is
//     never thrown away) and runs the call once more.
//
// A Cache implements silenceper/wechat's credential.AccessTokenHandle and
// credential.AccessTokenContextHandle, so it plugs into the SDK's
// mini-program (SetAccessTokenContextHandle) and work clients. StableToken
// and WorkToken are the fetchers for the two platforms, built on the SDK's
// own token calls.
package accesstoken
