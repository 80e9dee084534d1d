//go:build !race

package live_test

// raceDetector reports whether the tests run with -race, which slows the
// comment path several times over.
const raceDetector = false
