package main

import "runtime/debug"

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// buildVersion returns the version and, when known, the VCS revision.
func buildVersion() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}
