//go:build !race

package jobs_test

// acceptanceMembers is the campaign acceptance test's segment size: the
// 100,000 members of the acceptance criterion (see community_race_test.go
// for -race runs).
const acceptanceMembers = 100_000
