package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is the module version, set at release builds with
// -ldflags "-X main.version=v1.2.3"; otherwise the build info's.
var version = ""

// buildVersion is what `belong version` and the build-info metric report: the
// version, the VCS revision (with +dirty for uncommitted changes) and its time.
func buildVersion() (ver, revision, at string) {
	ver, revision, at = version, "unknown", ""
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return cmpVersion(ver), revision, at
	}
	if ver == "" {
		ver = info.Main.Version
	}
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		revision += "+dirty"
	}
	return cmpVersion(ver), revision, at
}

func cmpVersion(v string) string {
	if v == "" || v == "(devel)" {
		return "devel"
	}
	return v
}

func runVersion(_ context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return usagef("usage: belong version")
	}
	ver, rev, at := buildVersion()
	if at != "" {
		rev += ", " + at
	}
	fmt.Fprintf(e.stdout, "belong %s (revision %s)\n", ver, rev)
	return nil
}
