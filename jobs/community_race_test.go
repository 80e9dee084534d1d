//go:build race

package jobs_test

// acceptanceMembers is the campaign acceptance test's segment size. The
// race detector makes the engine about ten times slower, so a -race run
// (make test) walks 10,000 members; a plain `go test ./jobs` walks the
// full 100,000.
const acceptanceMembers = 10_000
